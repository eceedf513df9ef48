import { type Clock, DeadlineHeap, type HeapEntry, type TimerHandle } from "@userstack/link";

/** Something with a deadline: a connection, a listener, the ARP cache, the reassembler… */
export interface Timed {
  /** Maintained by the {@link TimerQueue}. */
  timerEntry: HeapEntry<Timed> | undefined;
  /** Called once the deadline is reached; the owner reschedules itself if it needs to. */
  onTimer(now: number): void;
}

/**
 * The stack's one timer queue (DESIGN.md: "one timer queue per stack, not a setTimeout per
 * connection"): a min-heap of deadlines, with a single clock timer armed at the earliest one.
 * Rescheduling to a later deadline does not touch the clock timer — it may fire early and find
 * nothing due, which is cheaper than re-arming on every ACK.
 */
export class TimerQueue {
  private readonly heap = new DeadlineHeap<Timed>();
  private armedAt = Number.POSITIVE_INFINITY;
  private handle: TimerHandle | undefined;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    /** Called when the armed timer fires; it runs {@link runDue} and whatever follows. */
    private readonly onFire: (now: number) => void,
  ) {}

  /** Sets (or with `undefined`, clears) the deadline of `t`. */
  schedule(t: Timed, at: number | undefined): void {
    const e = t.timerEntry;
    if (at === undefined) {
      if (e !== undefined) {
        this.heap.remove(e);
        t.timerEntry = undefined;
      }
      return;
    }
    if (e !== undefined) {
      if (e.at === at && e.index >= 0) return;
      this.heap.remove(e);
    }
    t.timerEntry = this.heap.push(at, t);
    if (at < this.armedAt) this.arm(at);
  }

  /** Runs `onTimer` of every entry due at `now`; returns how many ran. */
  runDue(now: number): number {
    let ran = 0;
    for (let top = this.heap.peek(); top !== undefined && top.at <= now; top = this.heap.peek()) {
      this.heap.pop();
      top.value.timerEntry = undefined;
      top.value.onTimer(now);
      ran++;
    }
    return ran;
  }

  /** Re-arms the clock timer for the earliest deadline left (after {@link runDue}). */
  rearm(): void {
    const top = this.heap.peek();
    if (top !== undefined && top.at < this.armedAt) this.arm(top.at);
  }

  /** Deadlines pending. */
  get size(): number {
    return this.heap.size;
  }

  /** Cancels the clock timer and forgets every deadline. */
  close(): void {
    this.closed = true;
    if (this.handle !== undefined) this.clock.clearTimer(this.handle);
    this.handle = undefined;
    this.heap.clear();
  }

  private arm(at: number): void {
    if (this.closed) return;
    if (this.handle !== undefined) this.clock.clearTimer(this.handle);
    this.armedAt = at;
    this.handle = this.clock.setTimer(at, this.fire);
  }

  private readonly fire = (): void => {
    this.handle = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    this.onFire(this.clock.now());
  };
}
