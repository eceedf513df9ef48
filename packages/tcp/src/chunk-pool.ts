import { RecordTable } from "./record-table.js";

/**
 * Storage for the send and receive rings of one engine's connections, in fixed-size chunks, and
 * for their records of segments in flight ({@link RecordTable}s).
 *
 * Linux charges socket memory as data queues and uncharges it as data is acknowledged or read
 * (sk_mem_charge / tcp_mem); an idle connection holds no data pages. The rings here do the same
 * with chunks: a ring takes a chunk when bytes are first written into its span and gives it back
 * when they are consumed, so an idle connection holds no storage while its full buffer size stays
 * reserved (the window it advertises is backed: the chunks are taken before data lands in them).
 * Chunks given back are kept for reuse up to `maxPooledBytes` in all, so a busy connection cycles
 * the same chunks instead of allocating.
 */
export class ChunkPools {
  /** Bytes in chunks that rings hold now. */
  heldBytes = 0;
  /** Bytes in free chunks kept for reuse. */
  pooledBytes = 0;
  private readonly pools = new Map<number, Uint8Array[]>();
  private readonly tables = new Map<number, RecordTable[]>();
  private readonly slots = new Map<number, Uint8Array[][]>();

  constructor(
    /** Most bytes kept in free chunks; beyond it a chunk given back is left to the garbage collector. */
    readonly maxPooledBytes: number,
    /** Held bytes beyond which out-of-order data is not stored (`TcpConfig.bufferLimit`). */
    readonly limit: number = Number.POSITIVE_INFINITY,
  ) {}

  /** A chunk of `size` bytes (a power of two), reused when one is free. */
  take(size: number): Uint8Array {
    this.heldBytes += size;
    const free = this.pools.get(size);
    const chunk = free?.pop();
    if (chunk !== undefined) {
      this.pooledBytes -= size;
      return chunk;
    }
    return new Uint8Array(size);
  }

  /** Returns a chunk taken with {@link take}; its bytes are not cleared (rings read only what they wrote). */
  give(chunk: Uint8Array): void {
    const size = chunk.length;
    this.heldBytes -= size;
    if (this.pooledBytes + size > this.maxPooledBytes) return;
    let free = this.pools.get(size);
    if (free === undefined) {
      free = [];
      this.pools.set(size, free);
    }
    free.push(chunk);
    this.pooledBytes += size;
  }

  /**
   * A ring's array of `count` chunk slots, all `empty`. A 2 MiB ring has 129 (1 KiB of heap):
   * rings take one when data first comes and give it back when they empty, so that idle
   * connections hold none, and busy ones reuse them.
   */
  takeSlots(count: number, empty: Uint8Array): Uint8Array[] {
    return this.slots.get(count)?.pop() ?? new Array<Uint8Array>(count).fill(empty);
  }

  /** Returns a slot array taken with {@link takeSlots}, every slot empty again. */
  giveSlots(slots: Uint8Array[]): void {
    let free = this.slots.get(slots.length);
    if (free === undefined) {
      free = [];
      this.slots.set(slots.length, free);
    }
    if (free.length < MAX_POOLED_TABLES) free.push(slots);
  }

  /** A record table of `capacity` records (a power of two), reused when one is free. */
  takeTable(capacity: number): RecordTable {
    const t = this.tables.get(capacity)?.pop();
    if (t === undefined) {
      const fresh = new RecordTable(capacity);
      this.heldBytes += fresh.bytes;
      return fresh;
    }
    this.heldBytes += t.bytes;
    this.pooledBytes -= t.bytes;
    return t;
  }

  /**
   * Returns a table taken with {@link takeTable}; kept for reuse within the same bound as chunks,
   * and at most {@link MAX_POOLED_TABLES} of a size: a table is small but its two typed arrays
   * cost some 250 bytes of heap each, and 10,000 connections going idle would otherwise leave
   * thousands pooled.
   */
  giveTable(t: RecordTable): void {
    this.heldBytes -= t.bytes;
    if (this.pooledBytes + t.bytes > this.maxPooledBytes) return;
    let free = this.tables.get(t.capacity);
    if (free === undefined) {
      free = [];
      this.tables.set(t.capacity, free);
    }
    if (free.length >= MAX_POOLED_TABLES) return;
    free.push(t);
    this.pooledBytes += t.bytes;
  }
}

/** Free record tables kept per size: enough for the connections of an engine sending at once. */
const MAX_POOLED_TABLES = 64;

/** Largest chunk: a segment (at most 65495 payload bytes) then spans at most two chunks. */
const MAX_CHUNK = 65536;
/** Chunk size for buffers of ordinary size: a 256 KiB ring is 16 of them plus one. */
const DEFAULT_CHUNK = 16384;

/**
 * The chunk size for a ring of `capacity` bytes whose contiguous reads never exceed `longestRead`
 * (a segment's payload, for the send ring): a power of two, at most {@link DEFAULT_CHUNK} unless a
 * read needs more, and not much more than the capacity of a small ring.
 */
export function chunkSizeFor(capacity: number, longestRead: number): number {
  let size = 64;
  const want = Math.max(Math.min(capacity, DEFAULT_CHUNK), Math.min(longestRead, MAX_CHUNK));
  while (size < want) size *= 2;
  return size;
}
