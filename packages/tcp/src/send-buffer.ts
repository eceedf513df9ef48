import type { ChunkPools } from "./chunk-pool.js";
import { ChunkRing } from "./chunk-ring.js";

/**
 * The send queue: a ring of bytes the application wrote and the peer has not acknowledged yet.
 * Offset 0 is the oldest unacknowledged byte. Segments are read as views into the ring (two
 * views when a segment crosses from one storage chunk into the next), so the glue copies each
 * payload exactly once, into the frame. Storage is taken as bytes are written and given back as
 * they are acknowledged: an idle connection holds none (see {@link ChunkPools}).
 */
export class SendBuffer {
  readonly capacity: number = 0;
  private readonly ring: ChunkRing;
  private head = 0;
  /** Bytes queued (in flight or not yet sent). */
  length = 0;

  /** `longestSegment`: the most payload one segment can carry (it must span at most two chunks). */
  constructor(capacity: number, longestSegment: number, pools: ChunkPools) {
    this.capacity = capacity;
    this.ring = new ChunkRing(capacity, longestSegment, pools);
  }

  /** Room for more bytes. */
  get free(): number {
    return this.capacity - this.length;
  }

  /** Bytes of storage held now. */
  get heldBytes(): number {
    return this.ring.heldBytes;
  }

  /** Copies as much of `src` as fits; returns the number of bytes taken. */
  write(src: Uint8Array): number {
    const n = Math.min(src.length, this.capacity - this.length);
    if (n === 0) return 0;
    this.ring.write(this.ring.wrap(this.head + this.length), src, 0, n);
    this.length += n;
    return n;
  }

  /** Drops the `n` oldest bytes (acknowledged), giving back the storage they occupied. */
  consume(n: number): void {
    this.length -= n;
    if (this.length === 0) {
      // Empty: all storage goes back, and the next write starts a chunk afresh.
      this.ring.releaseAll();
      this.head = 0;
      return;
    }
    const from = this.head;
    this.head = this.ring.wrap(this.head + n);
    this.ring.release(from, this.head);
  }

  /** First part of the `len` bytes at `offset`: a view that ends where its storage chunk ends. */
  first(offset: number, len: number): Uint8Array {
    return this.ring.view(this.ring.wrap(this.head + offset), len);
  }

  /** Second part of the `len` bytes at `offset`, given the first part's length (`len` ≤ one chunk). */
  second(offset: number, firstLength: number, len: number): Uint8Array {
    return this.ring.view(
      this.ring.wrap(this.ring.wrap(this.head + offset) + firstLength),
      len - firstLength,
    );
  }

  /** Gives back all storage and forgets the queued bytes (the connection is done sending). */
  release(): void {
    this.ring.releaseAll();
    this.head = 0;
    this.length = 0;
  }
}
