/** An opaque handle for a timer set with {@link Clock.setTimer}. */
export type TimerHandle = { readonly __timer: true } | object;

/**
 * Time as the stack sees it: a monotonic `now()` in milliseconds and one-shot wake-ups. Engines
 * never read it; the glue passes `now` to them. Real time by default ({@link realClock}); tests use
 * a {@link VirtualClock} that jumps to the next deadline, so a 2-minute TIME-WAIT takes no time.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale (fractions allowed). */
  now(): number;
  /** Calls `fn` once at or after `at` (a `now()` value). At or before `now()` means "soon, asynchronously". */
  setTimer(at: number, fn: () => void): TimerHandle;
  /** Cancels a timer; a no-op for one that ran or was cleared. */
  clearTimer(handle: TimerHandle): void;
  /**
   * The Unix time in milliseconds at which `now()` was 0, when the clock knows it (real time:
   * `performance.timeOrigin`). Optional, added so that captures can write wall-clock timestamps
   * while the stack keeps a monotonic clock; a virtual clock may leave it out (captures then
   * start at 1970-01-01, which Wireshark shows as relative time just as well).
   */
  readonly timeOrigin?: number;
}
