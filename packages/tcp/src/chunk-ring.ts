import { type ChunkPools, chunkSizeFor } from "./chunk-pool.js";

const NONE = new Uint8Array(0);
const NO_CHUNKS: Uint8Array[] = [];

/**
 * A ring of `size` bytes (positions 0..size−1) stored in chunks taken from {@link ChunkPools} on
 * first write and given back by {@link release}. The ring is one chunk larger than the capacity
 * its owner uses, so that a chunk the owner's head has wholly passed never also holds live bytes
 * from the other end of the ring: such a chunk can always be given back.
 */
export class ChunkRing {
  // Fields start as small integers so that V8 keeps them unboxed (a field declared without a
  // value starts as undefined and then holds numbers boxed).
  readonly size: number = 0;
  readonly chunkSize: number = 0;
  private readonly shift: number = 0;
  /** Chunk slots, taken from the pools at the first write and given back when the ring empties (an idle connection's ring is just this object). */
  private chunks: Uint8Array[] = NO_CHUNKS;
  private readonly count: number = 0;
  /** Chunks held now. */
  held = 0;

  constructor(
    capacity: number,
    longestRead: number,
    private readonly pools: ChunkPools,
  ) {
    this.chunkSize = chunkSizeFor(capacity, longestRead);
    this.shift = 31 - Math.clz32(this.chunkSize);
    this.count = Math.ceil(capacity / this.chunkSize) + 1;
    this.size = this.count * this.chunkSize;
  }

  /** Bytes of storage held. */
  get heldBytes(): number {
    return this.held * this.chunkSize;
  }

  /** `at + n` reduced modulo the ring size (`at` < size, `n` ≤ size). */
  wrap(at: number): number {
    return at >= this.size ? at - this.size : at;
  }

  /** Copies `src[from..to)` into the ring at position `at`, taking chunks as needed. */
  write(at: number, src: Uint8Array, from: number, to: number): void {
    const cs = this.chunkSize;
    if (this.chunks === NO_CHUNKS) this.chunks = this.pools.takeSlots(this.count, NONE);
    let p = at;
    let i = from;
    while (i < to) {
      const k = p >>> this.shift;
      let chunk = this.chunks[k]!;
      if (chunk === NONE) {
        chunk = this.pools.take(cs);
        this.chunks[k] = chunk;
        this.held++;
      }
      const off = p & (cs - 1);
      const n = Math.min(to - i, cs - off);
      chunk.set(n === src.length ? src : src.subarray(i, i + n), off);
      i += n;
      p = this.wrap(p + n);
    }
  }

  /** Copies `n` bytes at ring position `at` into `out` at `outAt`. The bytes must have been written. */
  read(at: number, out: Uint8Array, outAt: number, n: number): void {
    const cs = this.chunkSize;
    let p = at;
    let o = outAt;
    const end = outAt + n;
    while (o < end) {
      const off = p & (cs - 1);
      const m = Math.min(end - o, cs - off);
      const chunk = this.chunks[p >>> this.shift]!;
      out.set(m === cs ? chunk : chunk.subarray(off, off + m), o);
      o += m;
      p = this.wrap(p + m);
    }
  }

  /** A view of up to `len` written bytes at position `at`, ending at the chunk's end at the latest. */
  view(at: number, len: number): Uint8Array {
    const off = at & (this.chunkSize - 1);
    return this.chunks[at >>> this.shift]!.subarray(off, Math.min(off + len, this.chunkSize));
  }

  /**
   * Gives back the chunks from the one holding position `from` up to, not including, the one
   * holding `to`: the owner's head moved from `from` to `to` and nothing behind it is live.
   */
  release(from: number, to: number): void {
    if (this.held === 0) return;
    let k = from >>> this.shift;
    const stop = to >>> this.shift;
    while (k !== stop) {
      this.drop(k);
      k = k + 1 === this.count ? 0 : k + 1;
    }
  }

  /** Gives back every chunk, and the slot array (the ring holds nothing live). */
  releaseAll(): void {
    if (this.chunks === NO_CHUNKS) return;
    if (this.held > 0) for (let k = 0; k < this.chunks.length; k++) this.drop(k);
    this.pools.giveSlots(this.chunks);
    this.chunks = NO_CHUNKS;
  }

  private drop(k: number): void {
    const chunk = this.chunks[k]!;
    if (chunk === NONE) return;
    this.chunks[k] = NONE;
    this.held--;
    this.pools.give(chunk);
  }
}
