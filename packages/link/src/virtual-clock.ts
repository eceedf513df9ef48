import type { Clock, TimerHandle } from "./clock.js";
import { DeadlineHeap, type HeapEntry } from "./deadline-heap.js";

/** Options for {@link VirtualClock}. */
export interface VirtualClockOptions {
  /** The initial `now()` in milliseconds (default 0). */
  start?: number;
  /** The Unix time in ms at which `now()` is 0, for pcap timestamps (default: unknown, i.e. 1970). */
  timeOrigin?: number;
}

/** Bounds for {@link VirtualClock.runUntilIdle}. */
export interface RunUntilIdleOptions {
  /**
   * Stop before running a timer due after this time; `now()` then ends at `maxTime`. When the clock
   * goes idle earlier, `now()` stays at the last deadline run. Default: no bound.
   */
  maxTime?: number;
  /** Throw after running this many timers with more still due: a timer that keeps re-arming itself. Default 1,000,000. */
  maxSteps?: number;
}

/**
 * A clock for tests: `now()` only moves when the test moves it, and timers run synchronously inside
 * {@link advance}, {@link runUntil} and {@link runUntilIdle}, each at its own deadline (so a timer
 * callback sees `now()` equal to the deadline it asked for). Timers with equal deadlines run in the
 * order they were set, so a run in virtual time is deterministic: the same inputs give the same
 * event order, every time.
 *
 * ```ts
 * const clock = new VirtualClock();
 * clock.setTimer(1000, () => console.log("one second later, instantly"));
 * clock.runUntilIdle();
 * clock.now(); // 1000
 * ```
 */
export class VirtualClock implements Clock {
  readonly timeOrigin: number | undefined;
  private t: number;
  private readonly timers = new DeadlineHeap<() => void>();
  private running = false;

  constructor(options: VirtualClockOptions = {}) {
    this.t = options.start ?? 0;
    this.timeOrigin = options.timeOrigin;
  }

  now(): number {
    return this.t;
  }

  /** A deadline in the past is treated as "now": the timer runs on the next advance, after those already due now. */
  setTimer(at: number, fn: () => void): TimerHandle {
    return this.timers.push(Math.max(at, this.t), fn);
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.remove(handle as HeapEntry<() => void>);
  }

  /** Timers set and not yet run or cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** The earliest pending deadline, or undefined when no timer is pending. */
  nextDeadline(): number | undefined {
    return this.timers.peek()?.at;
  }

  /** Moves time forward by `ms`, running every timer due on the way (and those they set); returns how many ran. */
  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`VirtualClock.advance: ${ms} ms; time only moves forward`);
    return this.runUntil(this.t + ms);
  }

  /** Moves time forward to `time`, running every timer due by then in deadline order; returns how many ran. */
  runUntil(time: number): number {
    if (time < this.t)
      throw new RangeError(`VirtualClock.runUntil(${time}): the clock is already at ${this.t}`);
    let ran = 0;
    this.enter();
    try {
      for (let e = this.timers.peek(); e && e.at <= time; e = this.timers.peek()) {
        this.timers.pop();
        this.t = e.at;
        ran++;
        e.value();
      }
      this.t = time;
    } finally {
      this.running = false;
    }
    return ran;
  }

  /**
   * Jumps from deadline to deadline, running timers, until none is left (or the next one is past
   * `maxTime`). Returns how many timers ran. Throws after `maxSteps` timers when more are still due,
   * which means something re-arms itself forever: bound the run with `maxTime` instead.
   */
  runUntilIdle(options: RunUntilIdleOptions = {}): number {
    const { maxTime = Number.POSITIVE_INFINITY, maxSteps = 1_000_000 } = options;
    let ran = 0;
    this.enter();
    try {
      for (let e = this.timers.peek(); e; e = this.timers.peek()) {
        if (e.at > maxTime) {
          this.t = Math.max(this.t, maxTime);
          return ran;
        }
        if (ran >= maxSteps)
          throw new Error(
            `VirtualClock.runUntilIdle: still busy after ${ran} timers (now ${this.t} ms); something re-arms itself forever — pass { maxTime } to stop at a time instead`,
          );
        this.timers.pop();
        this.t = e.at;
        ran++;
        e.value();
      }
    } finally {
      this.running = false;
    }
    return ran;
  }

  private enter(): void {
    // A timer that advances the clock would run later timers inside an earlier one's callback.
    if (this.running) throw new Error("VirtualClock: advance/runUntil called from inside a timer callback");
    this.running = true;
  }
}
