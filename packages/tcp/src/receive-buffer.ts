import type { ChunkPools } from "./chunk-pool.js";
import { ChunkRing } from "./chunk-ring.js";
import { add, gt, leq, lt, max, sub } from "./seq.js";

const EMPTY = new Uint8Array(0);
const NO_RANGES: number[] = [];

/**
 * The receive queue: a ring holding in-order bytes not read yet, and after them the window, where
 * out-of-order segments are written at their final place. The out-of-order ranges are kept as
 * sorted, disjoint sequence-number intervals, at most `maxRanges` of them, so memory is bounded
 * by the ring whatever a peer sends (RFC 9293 §3.10.7.4 "seventh": data beyond the window is
 * never stored).
 *
 * The whole capacity is reserved — it is the window advertised — but storage is taken only where
 * data lands and given back as it is read (see {@link ChunkPools}): an idle connection holds none.
 */
export class ReceiveBuffer {
  readonly capacity: number = 0;
  private readonly ring: ChunkRing;
  private head = 0;
  /** In-order bytes ready to read. */
  readable = 0;
  /** Out-of-order ranges [left, right) in sequence space, sorted, disjoint, not touching RCV.NXT (allocated on first use). */
  lefts: number[] = NO_RANGES;
  rights: number[] = NO_RANGES;
  rangeCount = 0;
  /** Index of the range the latest out-of-order segment went into (RFC 2018 §4: reported first). */
  latestRange = -1;
  private readonly maxRanges: number = 0;

  constructor(capacity: number, maxRanges: number, pools: ChunkPools) {
    this.capacity = capacity;
    this.ring = new ChunkRing(capacity, 0, pools);
    this.maxRanges = maxRanges;
  }

  /** Window space after the readable bytes. */
  get space(): number {
    return this.capacity - this.readable;
  }

  /** Bytes of storage held now. */
  get heldBytes(): number {
    return this.ring.heldBytes;
  }

  /** Bytes held out of order. */
  get outOfOrderBytes(): number {
    let n = 0;
    for (let i = 0; i < this.rangeCount; i++) n += sub(this.rights[i]!, this.lefts[i]!);
    return n;
  }

  /**
   * Stores `data[from..to)` whose first byte has sequence number `seq`, given RCV.NXT `nxt`
   * (`seq` ≥ `nxt`, the data already trimmed to the window). Returns the new RCV.NXT (larger when
   * the data or the ranges it completes became in order), or -1 when it needed one range more
   * than allowed and was dropped.
   */
  store(nxt: number, seq: number, data: Uint8Array, from = 0, to = data.length): number {
    const n = to - from;
    const off = sub(seq, nxt);
    const end = add(seq, n);
    if (off === 0) {
      this.ring.write(this.ring.wrap(this.head + this.readable), data, from, to);
      let next = end;
      // Ranges the new data reaches or covers become in order.
      let drop = 0;
      while (drop < this.rangeCount && leq(this.lefts[drop]!, next)) {
        next = max(next, this.rights[drop]!);
        drop++;
      }
      if (drop > 0) this.removeFirst(drop);
      this.readable += sub(next, nxt);
      return next;
    }
    if (!this.addRange(seq, end)) return -1;
    // `readable + off` may exceed the ring size once: wrap twice at most.
    this.ring.write(this.ring.wrap(this.ring.wrap(this.head + this.readable) + off), data, from, to);
    return nxt;
  }

  private removeFirst(k: number): void {
    for (let i = k; i < this.rangeCount; i++) {
      this.lefts[i - k] = this.lefts[i]!;
      this.rights[i - k] = this.rights[i]!;
    }
    this.rangeCount -= k;
    this.latestRange = this.latestRange >= k ? this.latestRange - k : -1;
  }

  private addRange(l: number, r: number): boolean {
    // Find the first range whose right edge reaches l.
    let i = 0;
    while (i < this.rangeCount && lt(this.rights[i]!, l)) i++;
    if (i < this.rangeCount && leq(this.lefts[i]!, r)) {
      // Overlaps or touches range i: extend it, then swallow the following ranges it reaches.
      if (lt(l, this.lefts[i]!)) this.lefts[i] = l;
      let right = gt(r, this.rights[i]!) ? r : this.rights[i]!;
      let j = i + 1;
      while (j < this.rangeCount && leq(this.lefts[j]!, right)) {
        right = max(right, this.rights[j]!);
        j++;
      }
      this.rights[i] = right;
      const removed = j - i - 1;
      if (removed > 0) {
        for (let k = j; k < this.rangeCount; k++) {
          this.lefts[k - removed] = this.lefts[k]!;
          this.rights[k - removed] = this.rights[k]!;
        }
        this.rangeCount -= removed;
      }
      this.latestRange = i;
      return true;
    }
    if (this.rangeCount === this.maxRanges) return false;
    if (this.lefts === NO_RANGES) {
      // The first out-of-order segment: most connections never see one.
      this.lefts = new Array<number>(this.maxRanges).fill(0);
      this.rights = new Array<number>(this.maxRanges).fill(0);
    }
    for (let k = this.rangeCount; k > i; k--) {
      this.lefts[k] = this.lefts[k - 1]!;
      this.rights[k] = this.rights[k - 1]!;
    }
    this.lefts[i] = l;
    this.rights[i] = r;
    this.rangeCount++;
    this.latestRange = i;
    return true;
  }

  /** Copies up to `out.length` readable bytes into `out`; returns the count. */
  read(out: Uint8Array): number {
    const n = Math.min(out.length, this.readable);
    if (n === 0) return 0;
    this.ring.read(this.head, out, 0, n);
    this.skip(n);
    return n;
  }

  /** A view of the next readable bytes up to the end of their storage chunk (zero-copy read); then call {@link skip}. */
  peek(): Uint8Array {
    if (this.readable === 0) return EMPTY;
    return this.ring.view(this.head, this.readable);
  }

  /** Marks `n` readable bytes as consumed, giving back the storage they occupied. */
  skip(n: number): void {
    this.readable -= n;
    if (this.readable === 0 && this.rangeCount === 0) {
      this.ring.releaseAll();
      this.head = 0;
      return;
    }
    const from = this.head;
    this.head = this.ring.wrap(this.head + n);
    this.ring.release(from, this.head);
  }

  /** Gives back all storage and forgets everything held (the connection will not read again). */
  release(): void {
    this.ring.releaseAll();
    this.head = 0;
    this.readable = 0;
    this.rangeCount = 0;
    this.latestRange = -1;
  }
}
