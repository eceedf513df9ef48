/**
 * The send queue: a ring of bytes the application wrote and the peer has not acknowledged yet.
 * Offset 0 is the oldest unacknowledged byte. Segments are read as views into the ring (two
 * views when a segment wraps), so the glue copies each payload exactly once, into the frame.
 */
export class SendBuffer {
  readonly bytes: Uint8Array;
  readonly capacity: number;
  private head = 0;
  /** Bytes queued (in flight or not yet sent). */
  length = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.bytes = new Uint8Array(capacity);
  }

  /** Room for more bytes. */
  get free(): number {
    return this.capacity - this.length;
  }

  /** Copies as much of `src` as fits; returns the number of bytes taken. */
  write(src: Uint8Array): number {
    const n = Math.min(src.length, this.capacity - this.length);
    if (n === 0) return 0;
    let tail = this.head + this.length;
    if (tail >= this.capacity) tail -= this.capacity;
    const first = Math.min(n, this.capacity - tail);
    this.bytes.set(first === src.length ? src : src.subarray(0, first), tail);
    if (first < n) this.bytes.set(src.subarray(first, n), 0);
    this.length += n;
    return n;
  }

  /** Drops the `n` oldest bytes (acknowledged). */
  consume(n: number): void {
    this.length -= n;
    this.head += n;
    if (this.head >= this.capacity) this.head -= this.capacity;
    if (this.length === 0) this.head = 0; // keeps later segments contiguous more often
  }

  /** First part of the `len` bytes at `offset`: a view that ends at the ring's end if it wraps. */
  first(offset: number, len: number): Uint8Array {
    let at = this.head + offset;
    if (at >= this.capacity) at -= this.capacity;
    return this.bytes.subarray(at, Math.min(at + len, this.capacity));
  }

  /** Second part (from the ring's start) of the `len` bytes at `offset`, given the first part's length. */
  second(firstLength: number, len: number): Uint8Array {
    return this.bytes.subarray(0, len - firstLength);
  }
}
