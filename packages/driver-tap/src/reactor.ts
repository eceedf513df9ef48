// One readiness loop for every device the process has open.
//
// Node cannot watch a TUN file descriptor or an AF_PACKET socket itself (net.Socket refuses them,
// and fs.read on them ties up the thread pool, runs at 40-50k frames/s and keeps the process from
// exiting). So: poll(2) runs on a worker thread (a koffi asynchronous call), and when it reports
// a readable descriptor the main thread reads synchronously until EAGAIN. One poll covers all the
// process's devices plus an eventfd that add() and remove() write to, so closing a link wakes the
// poll at once; the poll also has a finite timeout as a safety net. Draining is capped per turn: a
// device that still has frames after its batch is read again from setImmediate, so timers and other
// I/O run between batches and a flood cannot starve the event loop. Each asynchronous poll holds
// one libuv thread-pool thread while it waits (one for the whole process, not one per link).
import { allocNative, EFD_CLOEXEC, EFD_NONBLOCK, freeNative, libc, POLLIN } from "./libc.js";

/** What {@link Watched.drain} found. */
export type DrainResult = "drained" | "more" | "dead";

/** A descriptor the reactor watches on behalf of a link. */
export interface Watched {
  readonly fd: number;
  /**
   * Reads up to one batch. `drained`: the descriptor reported EAGAIN; `more`: the batch cap was
   * reached, call again soon; `dead`: a permanent error, stop watching.
   */
  drain(): DrainResult;
}

/** The safety-net timeout of each poll: close() never waits longer than this for the worker thread. */
const POLL_TIMEOUT_MS = 1000;
const POLLFD_SIZE = 8; // struct pollfd { int fd; short events; short revents; }

class Reactor {
  private readonly watched: Watched[] = [];
  /** The order of `watched` when the poll in flight was started. */
  private polled: Watched[] = [];
  /** idle: nothing scheduled; polling: a poll is in flight; busy: draining now or on setImmediate. */
  private phase: "idle" | "polling" | "busy" = "idle";
  private wake = -1;
  private native: { pointer: unknown; view: DataView } | undefined;
  private capacity = 0;
  /** Resolved when the poll in flight returns: nobody polls a removed descriptor after that. */
  private pollReturned: (() => void)[] = [];
  /** Polls that returned, and how: by the safety timeout, or woken by add()/remove() alone. */
  private readonly counts = { polls: 0, timeouts: 0, wakeups: 0 };
  private readonly wakeValue = new BigUint64Array([1n]);
  private readonly wakeSink = new Uint8Array(8);

  /** Starts watching `w` (its first drain happens at once, since frames may already be queued). */
  add(w: Watched): void {
    if (this.watched.includes(w)) return;
    this.watched.push(w);
    if (this.phase === "polling") this.interrupt();
    else if (this.phase === "idle") this.scheduleContinue();
    // busy: the turn in progress ends by polling or draining the new list.
  }

  /** Stops watching `w`; resolves once no poll on another thread can still be looking at its descriptor. */
  remove(w: Watched): Promise<void> {
    const i = this.watched.indexOf(w);
    if (i >= 0) this.watched.splice(i, 1);
    if (this.phase !== "polling" || !this.polled.includes(w)) return Promise.resolve();
    return new Promise((resolve) => {
      this.pollReturned.push(resolve);
      this.interrupt();
    });
  }

  private interrupt(): void {
    if (this.wake >= 0) libc().write(this.wake, new Uint8Array(this.wakeValue.buffer), 8);
  }

  private startPoll(): void {
    if (this.watched.length === 0) {
      this.phase = "idle";
      this.shutdown();
      return;
    }
    const c = libc();
    if (this.wake < 0) {
      this.wake = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (this.wake < 0) {
        // Without the eventfd, close() waits for the poll timeout instead; still correct.
        this.wake = -1;
      }
    }
    const count = this.watched.length + 1;
    if (count > this.capacity) {
      if (this.native) freeNative(this.native.pointer);
      this.capacity = Math.max(count, 4);
      this.native = allocNative(this.capacity * POLLFD_SIZE);
    }
    const v = this.native!.view;
    this.polled = this.watched.slice();
    for (let i = 0; i < this.polled.length; i++) {
      v.setInt32(i * POLLFD_SIZE, this.polled[i]!.fd, true);
      v.setInt16(i * POLLFD_SIZE + 4, POLLIN, true);
      v.setInt16(i * POLLFD_SIZE + 6, 0, true);
    }
    const last = this.polled.length * POLLFD_SIZE;
    v.setInt32(last, this.wake, true); // a negative fd is ignored by poll(2)
    v.setInt16(last + 4, POLLIN, true);
    v.setInt16(last + 6, 0, true);
    this.phase = "polling";
    // An error from koffi itself (its async queue full) is handled like a failed poll.
    c.pollAsync(this.native!.pointer, count, POLL_TIMEOUT_MS, (err, ready) => this.onPoll(err ? -1 : ready));
  }

  private onPoll(ready: number): void {
    this.phase = "busy";
    const polled = this.polled;
    this.polled = [];
    const waiting = this.pollReturned;
    this.pollReturned = [];
    for (const resolve of waiting) resolve();
    if (this.wake >= 0) libc().read(this.wake, this.wakeSink, 8); // reset the counter; EAGAIN is fine
    this.counts.polls++;
    if (ready === 0) this.counts.timeouts++;
    let more = false;
    try {
      if (ready > 0 && this.native) {
        const wakeAt = polled.length * POLLFD_SIZE;
        if (ready === 1 && this.native.view.getInt16(wakeAt + 6, true) !== 0) this.counts.wakeups++;
      }
      if (ready < 0) {
        // poll itself failed (EINTR, ENOMEM; its errno stayed on the worker thread): drain
        // everything once from setImmediate, then poll again.
        more = true;
      } else if (ready > 0) {
        const v = this.native!.view;
        for (let i = 0; i < polled.length; i++) {
          const w = polled[i]!;
          if (v.getInt16(i * POLLFD_SIZE + 6, true) === 0 || !this.watched.includes(w)) continue;
          if (this.drainOne(w)) more = true;
        }
      }
    } finally {
      if (more) this.scheduleContinue();
      else this.startPoll();
    }
  }

  /** Drains `w` once; true when it has more to read. */
  private drainOne(w: Watched): boolean {
    const r = w.drain();
    if (r === "dead") {
      const i = this.watched.indexOf(w);
      if (i >= 0) this.watched.splice(i, 1);
      return false;
    }
    return r === "more";
  }

  /** A turn on setImmediate: every watched descriptor gets a batch, so a flood on one starves none. */
  private scheduleContinue(): void {
    this.phase = "busy";
    setImmediate(() => {
      let more = false;
      try {
        for (const w of this.watched.slice()) {
          if (this.watched.includes(w) && this.drainOne(w)) more = true;
        }
      } finally {
        if (more) this.scheduleContinue();
        else this.startPoll();
      }
    });
  }

  /** Nothing left to watch: release the eventfd and the pollfd memory so the process can exit. */
  private shutdown(): void {
    if (this.wake >= 0) libc().close(this.wake);
    this.wake = -1;
    if (this.native) freeNative(this.native.pointer);
    this.native = undefined;
    this.capacity = 0;
  }

  /** For diagnostics and tests: what is watched, whether a poll is in flight, how polls ended. */
  state(): { watched: number; polling: boolean; polls: number; timeouts: number; wakeups: number } {
    return { watched: this.watched.length, polling: this.phase === "polling", ...this.counts };
  }
}

/** The process's reactor (one per JavaScript thread). */
export const reactor = new Reactor();
