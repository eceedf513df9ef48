import type { Clock, TimerHandle } from "./clock.js";
import type { Receiver } from "./link.js";

/** Slot buffers start at this size (a full Ethernet frame fits) and grow for larger frames. */
const MIN_SLOT = 2048;

/**
 * The delivery side of an in-memory link: a bounded FIFO of copied frames, each due at the time it
 * was queued plus a fixed latency, delivered to a {@link Receiver} in batches from a clock timer.
 *
 * - Asynchronous: `push` never calls the receiver; a timer does, so a stack that answers inside
 *   `receive` never re-enters its own `send`.
 * - Batched: every frame due when the timer fires goes out in one run of `receive` calls, then
 *   one `flush()`.
 * - No allocation per frame in steady state: frames are copied into reusable buffers and lent to
 *   the receiver as views (the link contract: bytes are valid for the call). A delivered frame's
 *   buffer goes back on a stack and the next push takes the top one, so a link that never has more
 *   than a few frames waiting copies into the same few, cache-warm, buffers whatever its capacity.
 */
export class FrameQueue {
  receiver: Receiver | undefined;
  private readonly slots: (Uint8Array | undefined)[];
  /** Buffers of delivered frames, the most recently used on top. */
  private readonly spare: Uint8Array[] = [];
  private readonly lengths: Int32Array;
  private readonly due: Float64Array;
  private head = 0;
  private count = 0;
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly latencyMs: number,
    /** The most frames waiting at once; more are refused (tail drop). */
    readonly capacity: number,
    /** Where deliveries are counted: `received`, and `unattached` for frames due while no receiver was attached. */
    private readonly counters: { received: number; unattached: number },
  ) {
    if (!(capacity >= 1)) throw new RangeError(`queue capacity must be at least 1, not ${capacity}`);
    this.slots = new Array(capacity);
    this.lengths = new Int32Array(capacity);
    this.due = new Float64Array(capacity);
  }

  /** Frames waiting. */
  get length(): number {
    return this.count;
  }

  /** Copies `frame` in; false when the queue is full or closed (the caller counts the drop). */
  push(frame: Uint8Array): boolean {
    if (this.closed || this.count === this.capacity) return false;
    const i = (this.head + this.count) % this.capacity;
    let slot = this.spare.pop();
    if (slot === undefined || slot.length < frame.length)
      slot = new Uint8Array(Math.max(MIN_SLOT, frame.length));
    this.slots[i] = slot;
    slot.set(frame);
    this.lengths[i] = frame.length;
    this.due[i] = this.clock.now() + this.latencyMs;
    this.count++;
    if (this.timer === undefined) this.arm();
    return true;
  }

  /** Drops everything queued and delivers nothing more. */
  close(): void {
    this.closed = true;
    this.count = 0;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.timer = this.clock.setTimer(this.due[this.head]!, this.deliver);
  }

  private readonly deliver = (): void => {
    this.timer = undefined;
    const now = this.clock.now();
    // Only frames queued before this batch started: what a receiver queues meanwhile (it cannot be
    // this queue in a pair or a switch, but a wrapper could loop) waits for the next batch.
    let budget = this.count;
    let n = 0;
    while (budget-- > 0 && this.count > 0 && !this.closed && this.due[this.head]! <= now) {
      const i = this.head;
      const r = this.receiver;
      // The slot stays owned until `receive` returns, so nothing queued during the call reuses it.
      if (r) {
        r.receive(this.slots[i]!.subarray(0, this.lengths[i]!));
        this.counters.received++;
        n++;
      } else {
        this.counters.unattached++; // as a NIC with no driver bound: dropped
      }
      if (this.closed) return;
      this.spare.push(this.slots[i]!);
      this.slots[i] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
    }
    if (n > 0) this.receiver?.flush();
    if (this.count > 0 && !this.closed && this.timer === undefined) this.arm();
  };
}
