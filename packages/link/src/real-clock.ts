import type { Clock, TimerHandle } from "./clock.js";

// The host's timer functions, read from globalThis at call time. This package builds without the
// Node or DOM type libraries (it runs in browsers, workers, Deno and Bun), so they are typed here.
interface HostTimers {
  performance: { now(): number; timeOrigin: number };
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setImmediate?: (fn: () => void) => unknown;
  clearImmediate?: (handle: unknown) => void;
  MessageChannel?: new () => {
    port1: { onmessage: ((e: unknown) => void) | null };
    port2: { postMessage(m: unknown): void };
  };
}
const host = globalThis as unknown as HostTimers;

/**
 * Runs `fn` on a later turn of the event loop without setTimeout's clamp (1 ms in Node, 4 ms for
 * nested browser timers): `setImmediate` where it exists (Node, Bun), otherwise a MessageChannel
 * post (browsers, workers, Deno), the way setImmediate polyfills do.
 */
function soon(fn: () => void): () => void {
  if (host.setImmediate) {
    const h = host.setImmediate(fn);
    return () => host.clearImmediate?.(h);
  }
  let live = true;
  const run = () => {
    if (live) fn();
  };
  if (host.MessageChannel) channelPost(run);
  else host.setTimeout(run, 0);
  return () => {
    live = false;
  };
}

// One channel for the whole process; callbacks queue behind one message each.
let channel: { post(): void; queue: (() => void)[] } | undefined;
function channelPost(fn: () => void): void {
  if (!channel) {
    const ch = new host.MessageChannel!();
    const queue: (() => void)[] = [];
    ch.port1.onmessage = () => queue.shift()?.();
    channel = { post: () => ch.port2.postMessage(0), queue };
  }
  channel.queue.push(fn);
  channel.post();
}

class RealTimer {
  cancel: (() => void) | undefined;
  constructor(
    readonly at: number,
    readonly fn: () => void,
  ) {}
}

class RealClock implements Clock {
  get timeOrigin(): number {
    return host.performance.timeOrigin;
  }

  now(): number {
    return host.performance.now();
  }

  setTimer(at: number, fn: () => void): TimerHandle {
    const t = new RealTimer(at, fn);
    this.arm(t);
    return t;
  }

  clearTimer(handle: TimerHandle): void {
    if (handle instanceof RealTimer) {
      handle.cancel?.();
      handle.cancel = undefined;
    }
  }

  private arm(t: RealTimer): void {
    const wait = t.at - this.now();
    const fire = () => {
      // Node's timers run against a cached, millisecond-truncated loop time and may fire up to a
      // millisecond before `performance.now()` reaches the deadline: keep the "at or after" promise.
      if (this.now() < t.at) {
        this.arm(t);
        return;
      }
      t.cancel = undefined;
      t.fn();
    };
    if (wait <= 0) {
      t.cancel = soon(fire);
    } else if (wait < 1) {
      // Less than setTimeout's granularity away: another turn of the loop is close enough.
      t.cancel = soon(fire);
    } else {
      const h = host.setTimeout(fire, Math.ceil(wait));
      t.cancel = () => host.clearTimeout(h);
    }
  }
}

const shared = new RealClock();

/**
 * The real, monotonic clock: `performance.now()` for time, `setTimeout` for deadlines in the
 * future, and `setImmediate` (a MessageChannel post in browsers) for deadlines that are due now or
 * past, so "run this soon" does not pay setTimeout's 1 ms floor. Timers never fire before their
 * deadline. Stateless: every call returns the same instance.
 */
export function realClock(): Clock {
  return shared;
}
