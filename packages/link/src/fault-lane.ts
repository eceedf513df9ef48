import type { Clock, TimerHandle } from "./clock.js";
import { DeadlineHeap } from "./deadline-heap.js";
import { Prng } from "./prng.js";

/** The faults applied to one direction of a link; every field is optional and off by default. */
export interface FaultConfig {
  /** Probability (0..1) that a frame is lost. */
  drop?: number;
  /** Probability that a frame is delivered twice (the copy also takes the delay, jitter and rate path). */
  duplicate?: number;
  /**
   * Probability that a frame is held back and delivered right after the frame that follows it
   * (or after `reorderHoldMs` when none follows).
   */
  reorder?: number;
  /** How long a frame held for reordering waits for a successor, in ms (default 10). */
  reorderHoldMs?: number;
  /** Probability that one byte of a frame, anywhere in it, is XORed with a non-zero mask. */
  corrupt?: number;
  /** Fixed one-way delay in ms added to every frame. */
  delayMs?: number;
  /** Each frame's delay varies uniformly by ± this many ms around `delayMs` (never below zero): it reorders, as real jitter does. */
  jitterMs?: number;
  /**
   * A bottleneck: frames are serialised at `bitsPerSecond` through a FIFO that holds at most
   * `queueBytes` (default 64 KiB) waiting; a frame that does not fit is dropped (tail drop).
   */
  rate?: { bitsPerSecond: number; queueBytes?: number };
  /** Frames longer than this are dropped (smoltcp's `max_size`). */
  maxFrameLength?: number;
  /** The most frames held at once by delay, rate and reordering (default 1000, netem's default limit). */
  limit?: number;
}

/** Which way a frame was going: out through `send`, or in towards the receiver. */
export type FaultDirection = "send" | "receive";

/** Why a frame was dropped. */
export type FaultDropReason = "random" | "queue-full" | "too-large" | "limit" | "closed";

/** One fault applied to one frame, for an optional trace callback. */
export type FaultEvent =
  | { kind: "drop"; reason: FaultDropReason; direction: FaultDirection; time: number; length: number }
  | { kind: "corrupt"; direction: FaultDirection; time: number; length: number; offset: number; mask: number }
  | { kind: "duplicate" | "reorder"; direction: FaultDirection; time: number; length: number };

/** Counters of one direction. */
export interface FaultStats {
  /** Frames that entered this direction. */
  frames: number;
  /** Frames that left it (duplicates count twice). */
  delivered: number;
  /** Dropped at random (`drop`). */
  dropped: number;
  /** Dropped because the rate limiter's queue was full. */
  queueFull: number;
  /** Dropped for exceeding `maxFrameLength`. */
  tooLarge: number;
  /** Dropped because `limit` frames were already held. */
  overLimit: number;
  /** Still held when the link was closed, and so lost. */
  closed: number;
  /** Frames with one byte changed. */
  corrupted: number;
  /** Frames delivered twice. */
  duplicated: number;
  /** Frames delivered after the frame that followed them. */
  reordered: number;
}

interface Held {
  buf: Uint8Array;
  len: number;
  hold: boolean;
}

function probability(name: string, p: number | undefined): number {
  if (p === undefined) return 0;
  if (!(p >= 0 && p <= 1))
    throw new RangeError(`withFaults: ${name} is a probability between 0 and 1, not ${p}`);
  return p;
}

/**
 * The faults of one direction. Every random decision for a frame is drawn when the frame enters,
 * and always the same number of draws per frame, so a seed replays exactly and changing one
 * probability does not reshuffle the others' decisions. Without delay, jitter, rate or reordering,
 * frames pass synchronously (zero copies unless corrupted); otherwise they are copied into pooled
 * buffers and released by clock timers, in batches.
 */
export class FaultLane {
  readonly stats: FaultStats = {
    frames: 0,
    delivered: 0,
    dropped: 0,
    queueFull: 0,
    tooLarge: 0,
    overLimit: 0,
    closed: 0,
    corrupted: 0,
    duplicated: 0,
    reordered: 0,
  };
  private readonly rng: Prng;
  private readonly drop: number;
  private readonly duplicate: number;
  private readonly reorder: number;
  private readonly corrupt: number;
  private readonly delayMs: number;
  private readonly jitterMs: number;
  private readonly reorderHoldMs: number;
  private readonly bitsPerSecond: number;
  private readonly queueBytes: number;
  private readonly maxFrameLength: number;
  private readonly limit: number;
  /** True when frames must wait (delay, jitter, rate, reorder); false when they pass synchronously. */
  private readonly timed: boolean;
  private readonly heap = new DeadlineHeap<Held>();
  private readonly pool: Uint8Array[] = [];
  private scratch = new Uint8Array(2048);
  private timer: TimerHandle | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private held: Held | undefined;
  private heldUntil = 0;
  /** When the rate limiter's wire is next free. */
  private wireFree = Number.NEGATIVE_INFINITY;
  private isClosed = false;

  constructor(
    config: FaultConfig,
    seed: number,
    private readonly direction: FaultDirection,
    private readonly clock: Clock,
    private readonly trace: ((e: FaultEvent) => void) | undefined,
    /** Hands a frame on (lent for the call). */
    private readonly emit: (frame: Uint8Array) => void,
    /** Ends a batch of emits. */
    private readonly endBatch: () => void,
  ) {
    this.rng = new Prng(seed, direction === "send" ? 0 : 1);
    this.drop = probability("drop", config.drop);
    this.duplicate = probability("duplicate", config.duplicate);
    this.reorder = probability("reorder", config.reorder);
    this.corrupt = probability("corrupt", config.corrupt);
    this.delayMs = Math.max(0, config.delayMs ?? 0);
    this.jitterMs = Math.max(0, config.jitterMs ?? 0);
    this.reorderHoldMs = Math.max(0, config.reorderHoldMs ?? 10);
    this.bitsPerSecond = config.rate?.bitsPerSecond ?? 0;
    if (config.rate && !(this.bitsPerSecond > 0))
      throw new RangeError(
        `withFaults: rate.bitsPerSecond must be positive, not ${config.rate.bitsPerSecond}`,
      );
    this.queueBytes = config.rate?.queueBytes ?? 64 * 1024;
    this.maxFrameLength = config.maxFrameLength ?? Number.POSITIVE_INFINITY;
    this.limit = config.limit ?? 1000;
    this.timed = this.delayMs > 0 || this.jitterMs > 0 || this.bitsPerSecond > 0 || this.reorder > 0;
  }

  /** One frame entering this direction (lent for the call). */
  input(frame: Uint8Array): void {
    const s = this.stats;
    s.frames++;
    const rng = this.rng;
    // Always eight draws per frame, in this order (see the class comment).
    const uDrop = rng.next();
    const uCorrupt = rng.next();
    const where = rng.u32();
    const what = rng.u32();
    const uDuplicate = rng.next();
    const uReorder = rng.next();
    const uJitter1 = rng.next();
    const uJitter2 = rng.next();
    if (this.isClosed) {
      this.dropped("closed", frame.length);
      return;
    }
    if (frame.length > this.maxFrameLength) {
      this.dropped("too-large", frame.length);
      return;
    }
    if (uDrop < this.drop) {
      this.dropped("random", frame.length);
      return;
    }
    let bytes = frame;
    if (uCorrupt < this.corrupt && frame.length > 0) {
      if (this.scratch.length < frame.length) this.scratch = new Uint8Array(frame.length);
      bytes = this.scratch.subarray(0, frame.length);
      bytes.set(frame);
      const offset = where % frame.length;
      const mask = (what % 255) + 1; // never 0: the byte always changes
      bytes[offset]! ^= mask;
      s.corrupted++;
      this.trace?.({
        kind: "corrupt",
        direction: this.direction,
        time: this.clock.now(),
        length: frame.length,
        offset,
        mask,
      });
    }
    const twice = uDuplicate < this.duplicate;
    if (twice) {
      s.duplicated++;
      this.trace?.({
        kind: "duplicate",
        direction: this.direction,
        time: this.clock.now(),
        length: frame.length,
      });
    }
    if (!this.timed) {
      s.delivered++;
      this.emit(bytes);
      if (twice) {
        s.delivered++;
        this.emit(bytes);
      }
      return;
    }
    this.schedule(bytes, uJitter1, uReorder < this.reorder);
    if (twice) this.schedule(bytes, uJitter2, false);
  }

  /** The inner link ended a batch: pass it on when frames pass synchronously. */
  innerFlush(): void {
    if (!this.timed) this.endBatch();
  }

  /** Loses what is held and stops the timer. */
  close(): void {
    this.isClosed = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    if (this.held) this.dropped("closed", this.held.len);
    this.held = undefined;
    for (let e = this.heap.pop(); e; e = this.heap.pop()) this.dropped("closed", e.value.len);
  }

  private dropped(reason: FaultDropReason, length: number): void {
    const s = this.stats;
    if (reason === "random") s.dropped++;
    else if (reason === "queue-full") s.queueFull++;
    else if (reason === "too-large") s.tooLarge++;
    else if (reason === "limit") s.overLimit++;
    else s.closed++;
    this.trace?.({ kind: "drop", reason, direction: this.direction, time: this.clock.now(), length });
  }

  private schedule(bytes: Uint8Array, uJitter: number, hold: boolean): void {
    const len = bytes.length;
    if (this.heap.size + (this.held ? 1 : 0) >= this.limit) {
      this.dropped("limit", len);
      return;
    }
    const now = this.clock.now();
    let at = now;
    if (this.bitsPerSecond > 0) {
      // Serialisation through a FIFO: the backlog is what the wire has yet to send, in bytes. A
      // frame is accepted whenever the wire is idle, whatever its size.
      const backlog = ((this.wireFree - now) * this.bitsPerSecond) / 8000;
      if (backlog > 0 && backlog + len > this.queueBytes) {
        this.dropped("queue-full", len);
        return;
      }
      this.wireFree = Math.max(this.wireFree, now) + (len * 8000) / this.bitsPerSecond;
      at = this.wireFree;
    }
    at += Math.max(0, this.delayMs + this.jitterMs * (2 * uJitter - 1));
    let buf = this.pool.pop();
    if (!buf || buf.length < len) buf = new Uint8Array(Math.max(2048, len));
    buf.set(bytes);
    this.heap.push(at, { buf, len, hold });
    this.arm();
  }

  private arm(): void {
    const next = Math.min(
      this.heap.peek()?.at ?? Number.POSITIVE_INFINITY,
      this.held ? this.heldUntil : Number.POSITIVE_INFINITY,
    );
    if (next === this.timerAt || next === Number.POSITIVE_INFINITY) return;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timerAt = next;
    this.timer = this.clock.setTimer(next, this.release);
  }

  private readonly release = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    let n = 0;
    for (let e = this.heap.peek(); e && e.at <= now && !this.isClosed; e = this.heap.peek()) {
      this.heap.pop();
      const h = e.value;
      if (h.hold && !this.held) {
        this.held = h;
        this.heldUntil = now + this.reorderHoldMs;
        continue;
      }
      this.out(h);
      n++;
      const back = this.held;
      if (back) {
        this.held = undefined;
        this.stats.reordered++;
        this.trace?.({ kind: "reorder", direction: this.direction, time: now, length: back.len });
        this.out(back);
        n++;
      }
    }
    if (this.held && now >= this.heldUntil && !this.isClosed) {
      const back = this.held;
      this.held = undefined;
      this.out(back);
      n++;
    }
    if (n > 0 && !this.isClosed) this.endBatch();
    if (!this.isClosed) this.arm();
  };

  private out(h: Held): void {
    this.stats.delivered++;
    this.emit(h.buf.subarray(0, h.len));
    if (this.pool.length < this.limit) this.pool.push(h.buf);
  }
}
