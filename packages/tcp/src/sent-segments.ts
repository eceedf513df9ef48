import type { ChunkPools } from "./chunk-pool.js";
import { RecordTable } from "./record-table.js";
import { leq, lt, max, min, sub } from "./seq.js";

// The sender's record of every segment in flight (Linux's retransmission queue, RFC 6675 §2's
// scoreboard, RFC 8985 §6.1's per-segment state): sequence range, when it was last sent, and
// whether the peer SACKed it, it is deemed lost, or a retransmission of it is in flight. Loss
// detection (RFC 6675 IsLost, RACK), retransmission and the RFC 6675 pipe all read it.

/** The peer SACKed the segment (RFC 2018): it holds these bytes. */
export const SACKED = 1;
/** Deemed lost (RACK, RFC 6675 IsLost, NewReno or a timeout): to be retransmitted. */
export const LOST = 2;
/** A retransmission of it is in flight (Linux TCPCB_SACKED_RETRANS). */
export const RETRANS = 4;
/** Retransmitted at least once: its RTT is ambiguous (Karn; RFC 8985 §6.2 step 2). */
export const EVER_RETRANS = 8;
/** In the time-ordered list: sent, neither SACKed nor waiting for its retransmission. */
const LINKED = 16;

// Fields of a record in the integer table: sequence range [START, END), flags, and the
// neighbours in the time-ordered list (positions, -1 at the ends).
const START = 0;
const END = 1;
const FLAGS = 2;
const PREV = 3;
const NEXT = 4;
const INTS = RecordTable.INTS;
/** Records in the first table a connection takes. */
const FIRST_CAPACITY = 16;

const NO_INTS = new Int32Array(0);
const NO_TIMES = new Float64Array(0);

/**
 * The segments in flight, oldest first: a ring of records (sequence range, flags, last transmit
 * time) plus a list of the same records in the order they were last sent, which RACK walks from
 * the oldest (RFC 8985 §6.2 step 5, Linux's tsorted list) and which is kept by unlinking a record
 * when it is SACKed or marked lost and moving it to the end when it is retransmitted.
 *
 * Allocation-free per segment: the table comes from the engine's {@link ChunkPools} when the
 * first segment is sent, doubles when full up to `maxRecords`, and goes back when nothing is in
 * flight, so an idle connection holds none. When `maxRecords` are in flight (only a flow of very
 * small segments gets there) a new segment extends the newest record instead of taking a new one,
 * so the table stays bounded whatever the application and the peer do.
 */
export class SentSegments {
  /** Records in flight. */
  count = 0;
  /** Bytes in SACKed records. */
  sackedBytes = 0;
  /** SACKed records (RACK.segs_sacked; RFC 6675 DupThresh counts them). */
  sackedCount = 0;
  /** Bytes deemed lost and not SACKed (Linux lost_out, in bytes). */
  lostBytes = 0;
  /** Bytes of retransmissions in flight, not SACKed (Linux retrans_out, in bytes). */
  retransBytes = 0;
  /** Bytes deemed lost and not retransmitted since: what recovery has left to resend. */
  waitingBytes = 0;
  /** Sequence number after the highest SACKed byte (meaningful while {@link sackedCount} > 0). */
  sackedEnd = 0;
  /** Oldest and newest record in transmit-time order (positions), -1 when none. */
  timeHead = -1;
  timeTail = -1;
  /** No record below this sequence number waits for a retransmission (a scan hint). */
  lostFrom = 0;
  /** No record at or above this sequence number waits for a retransmission. */
  lostTo = 0;

  private ints: Int32Array = NO_INTS;
  private times: Float64Array = NO_TIMES;
  /** Where {@link ints} and {@link times} come from (taken from the pools while anything is in flight). */
  private table: RecordTable | undefined = undefined;
  private capacity = 0;
  private mask = 0;
  private head = 0;

  constructor(
    private readonly pools: ChunkPools,
    /** Most records kept (a power of two). */
    readonly maxRecords: number,
  ) {}

  /** Bytes of table storage held now. */
  get heldBytes(): number {
    return this.table === undefined ? 0 : this.table.bytes;
  }

  /** Position of the `i`-th oldest record. */
  at(i: number): number {
    return (this.head + i) & this.mask;
  }
  start(p: number): number {
    return this.ints[p * INTS + START]! >>> 0;
  }
  end(p: number): number {
    return this.ints[p * INTS + END]! >>> 0;
  }
  flags(p: number): number {
    return this.ints[p * INTS + FLAGS]!;
  }
  /** When the record was last sent (ms, the engine's clock). */
  time(p: number): number {
    return this.times[p]!;
  }
  length(p: number): number {
    return sub(this.end(p), this.start(p));
  }
  /** The next record in transmit-time order, or -1. */
  timeNext(p: number): number {
    return this.ints[p * INTS + NEXT]!;
  }
  /** The newest record's position (count > 0). */
  get last(): number {
    return this.at(this.count - 1);
  }

  /**
   * Records a segment [start, end) of new data sent at `now`, directly after the newest record.
   * False (nothing recorded) only when {@link canAppend} is false.
   */
  append(start: number, end: number, now: number): boolean {
    if (this.count === this.capacity && !this.grow()) {
      // Full at maxRecords: the newest record grows to cover the new segment.
      const p = this.last;
      if ((this.flags(p) & ~LINKED) !== 0) return false;
      this.ints[p * INTS + END] = end;
      this.times[p] = now;
      this.unlink(p);
      this.linkLast(p);
      return true;
    }
    const p = this.at(this.count);
    const o = p * INTS;
    this.ints[o + START] = start;
    this.ints[o + END] = end;
    this.ints[o + FLAGS] = 0;
    this.times[p] = now;
    this.count++;
    this.linkLast(p);
    return true;
  }

  /**
   * True when a new segment can be recorded: a free record, or the newest one may be extended
   * (it was never SACKed, lost or retransmitted).
   */
  get canAppend(): boolean {
    return this.count < this.maxRecords || (this.flags(this.last) & ~LINKED) === 0;
  }

  /** Index (age order) of the record holding sequence number `s`, or -1. */
  find(s: number): number {
    if (this.count === 0) return -1;
    const base = this.start(this.at(0));
    const off = sub(s, base);
    if (off < 0 || off >= sub(this.end(this.last), base)) return -1;
    let lo = 0;
    let hi = this.count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (sub(this.start(this.at(mid)), base) <= off) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Marks record `p` SACKed; false when it already was. */
  markSacked(p: number): boolean {
    const f = this.flags(p);
    if (f & SACKED) return false;
    const len = this.length(p);
    if (f & LOST) this.lostBytes -= len;
    if (f & RETRANS) this.retransBytes -= len;
    if ((f & (LOST | RETRANS)) === LOST) this.waitingBytes -= len;
    this.setFlags(p, (f & ~(LOST | RETRANS)) | SACKED);
    this.unlink(p);
    this.sackedBytes += len;
    if (this.sackedCount === 0 || lt(this.sackedEnd, this.end(p))) this.sackedEnd = this.end(p);
    this.sackedCount++;
    return true;
  }

  /**
   * Marks record `p` lost: it waits for a retransmission. A retransmission of it still in flight
   * is deemed lost with it. False when it is SACKed or already waits.
   */
  markLost(p: number): boolean {
    const f = this.flags(p);
    if (f & SACKED || (f & (LOST | RETRANS)) === LOST) return false;
    const len = this.length(p);
    if (f & RETRANS) this.retransBytes -= len;
    if (!(f & LOST)) this.lostBytes += len;
    this.setFlags(p, (f & ~RETRANS) | LOST);
    this.unlink(p);
    const s = this.start(p);
    const e = this.end(p);
    if (this.waitingBytes === 0) {
      this.lostFrom = s;
      this.lostTo = e;
    } else {
      this.lostFrom = min(this.lostFrom, s);
      this.lostTo = max(this.lostTo, e);
    }
    this.waitingBytes += len;
    return true;
  }

  /** Marks record `p` lost unless it is SACKed or already deemed lost (retransmitted or not). */
  markLostOnce(p: number): boolean {
    return (this.flags(p) & (SACKED | LOST)) === 0 && this.markLost(p);
  }

  /** Record `p` was sent again at `now`. */
  markRetransmitted(p: number, now: number): void {
    const f = this.flags(p);
    if (!(f & RETRANS)) this.retransBytes += this.length(p);
    if ((f & (LOST | RETRANS | SACKED)) === LOST) this.waitingBytes -= this.length(p);
    this.setFlags(p, f | RETRANS | EVER_RETRANS);
    this.times[p] = now;
    this.unlink(p);
    this.linkLast(p);
  }

  /**
   * The oldest record that waits for a retransmission (lost, not SACKed, not retransmitted since),
   * or -1. Moves the scan hint past the records it skips.
   */
  nextLost(): number {
    if (this.waitingBytes === 0) return -1;
    let i = this.find(this.lostFrom);
    if (i < 0) i = 0;
    for (; i < this.count; i++) {
      const p = this.at(i);
      if (!lt(this.start(p), this.lostTo)) break;
      if ((this.flags(p) & (SACKED | LOST | RETRANS)) === LOST) {
        this.lostFrom = this.start(p);
        return p;
      }
    }
    this.lostFrom = this.lostTo;
    return -1;
  }

  /** Forgets the SACK marks (the receiver reneged, RFC 2018 §8): every record is in flight again. */
  clearSacks(now: number): void {
    for (let i = 0; i < this.count; i++) {
      const p = this.at(i);
      const f = this.flags(p);
      if (f & SACKED) {
        this.setFlags(p, f & ~SACKED);
        this.times[p] = now;
        this.linkLast(p);
      }
    }
    this.sackedBytes = 0;
    this.sackedCount = 0;
  }

  /**
   * Drops the records the cumulative ACK `una` covers and trims a record it ends inside. The
   * caller reads the acknowledged records first (RACK) with {@link at} from index 0.
   */
  acknowledge(una: number): void {
    while (this.count > 0) {
      const p = this.at(0);
      const e = this.end(p);
      if (leq(e, una)) {
        this.forget(p, this.length(p));
        this.unlink(p);
        this.head = (this.head + 1) & this.mask;
        this.count--;
        continue;
      }
      const s = this.start(p);
      if (lt(s, una)) {
        this.forget(p, sub(una, s));
        this.ints[p * INTS + START] = una;
      }
      break;
    }
    if (this.count === 0) this.release();
    else if (lt(this.lostFrom, una)) this.lostFrom = una;
  }

  /** Gives the table back (nothing in flight, or the connection is done). */
  release(): void {
    this.count = 0;
    this.head = 0;
    this.sackedBytes = this.sackedCount = this.lostBytes = this.retransBytes = this.waitingBytes = 0;
    this.timeHead = this.timeTail = -1;
    if (this.table !== undefined) {
      this.pools.giveTable(this.table);
      this.table = undefined;
      this.ints = NO_INTS;
      this.times = NO_TIMES;
      this.capacity = 0;
      this.mask = 0;
    }
  }

  /** Takes back `len` bytes of record `p` from the counters its flags put them in. */
  private forget(p: number, len: number): void {
    const f = this.flags(p);
    if (f & SACKED) {
      this.sackedBytes -= len;
      if (len === this.length(p)) this.sackedCount--;
    } else {
      if (f & LOST) this.lostBytes -= len;
      if (f & RETRANS) this.retransBytes -= len;
      else if (f & LOST) this.waitingBytes -= len;
    }
  }

  private setFlags(p: number, f: number): void {
    this.ints[p * INTS + FLAGS] = f;
  }

  private linkLast(p: number): void {
    const o = p * INTS;
    this.ints[o + PREV] = this.timeTail;
    this.ints[o + NEXT] = -1;
    this.ints[o + FLAGS] = this.ints[o + FLAGS]! | LINKED;
    if (this.timeTail >= 0) this.ints[this.timeTail * INTS + NEXT] = p;
    else this.timeHead = p;
    this.timeTail = p;
  }

  private unlink(p: number): void {
    const o = p * INTS;
    const f = this.ints[o + FLAGS]!;
    if (!(f & LINKED)) return;
    this.ints[o + FLAGS] = f & ~LINKED;
    const prev = this.ints[o + PREV]!;
    const next = this.ints[o + NEXT]!;
    if (prev >= 0) this.ints[prev * INTS + NEXT] = next;
    else this.timeHead = next;
    if (next >= 0) this.ints[next * INTS + PREV] = prev;
    else this.timeTail = prev;
  }

  /** Doubles the table (or takes the first); false at maxRecords. */
  private grow(): boolean {
    const cap = this.capacity === 0 ? Math.min(FIRST_CAPACITY, this.maxRecords) : this.capacity * 2;
    if (cap > this.maxRecords) return false;
    const table = this.pools.takeTable(cap);
    const ints = table.ints;
    const times = table.times;
    // Copy oldest first to positions 0..count-1, renumbering the time list's links.
    for (let i = 0; i < this.count; i++) {
      const p = this.at(i);
      const o = p * INTS;
      const n = i * INTS;
      ints[n + START] = this.ints[o + START]!;
      ints[n + END] = this.ints[o + END]!;
      ints[n + FLAGS] = this.ints[o + FLAGS]!;
      ints[n + PREV] = this.renumber(this.ints[o + PREV]!);
      ints[n + NEXT] = this.renumber(this.ints[o + NEXT]!);
      times[i] = this.times[p]!;
    }
    this.timeHead = this.renumber(this.timeHead);
    this.timeTail = this.renumber(this.timeTail);
    if (this.table !== undefined) this.pools.giveTable(this.table);
    this.table = table;
    this.ints = ints;
    this.times = times;
    this.capacity = cap;
    this.mask = cap - 1;
    this.head = 0;
    return true;
  }

  /** A position's index in age order (its position once the ring is copied from 0), -1 kept. */
  private renumber(p: number): number {
    return p < 0 ? -1 : (p - this.head) & this.mask;
  }
}

/** The record limit for a send buffer of `bytes`: one record per 512 bytes, 64 to 8192, a power of two. */
export function maxRecordsFor(bytes: number): number {
  let n = 64;
  while (n < 8192 && n * 512 < bytes) n *= 2;
  return n;
}
