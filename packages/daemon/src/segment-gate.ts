import { DebugAction, DebugEvents } from "./wire-format.js";

/** A connection as the debug channel names it, from the daemon stack's side. */
export interface GateFlow {
  localAddress: number;
  localPort: number;
  remoteAddress: number;
  remotePort: number;
}

/** Which segments and state changes a subscription sees (0 fields match anything). */
export interface GateFilter {
  remoteAddress: number;
  localPort: number;
  remotePort: number;
  /** A {@link DebugEvents} bitmask. */
  events: number;
  /** True: every matching segment waits for this subscriber's verdict. False: it only watches. */
  intercept: boolean;
}

/** Where a subscription's events go (a client session). */
export interface GateSubscriber {
  debugSegment(
    subscription: number,
    event: number,
    direction: number,
    source: number,
    destination: number,
    segment: Uint8Array,
  ): void;
  debugState(subscription: number, flow: GateFlow, from: string, to: string): void;
}

/** Counters of a {@link SegmentGate}. */
export interface GateStats {
  /** Segments that matched a subscription. */
  matched: number;
  /** Segments held for a verdict. */
  intercepted: number;
  passed: number;
  dropped: number;
  duplicated: number;
  withheld: number;
  released: number;
  /** Segments lost because a flow already had `maxQueued` segments waiting for verdicts. */
  queueFull: number;
  /** Segments dropped instead of withheld because `maxWithheldBytes` were withheld already. */
  withheldOverflow: number;
  /** Verdicts for unknown or foreign events, ignored. */
  strayVerdicts: number;
}

interface Subscription extends GateFilter {
  owner: GateSubscriber;
  id: number;
}

interface Held {
  event: number;
  owner: GateSubscriber | undefined;
  /** -1 until the verdict arrives. */
  verdict: number;
  frame: Uint8Array;
  deliver: (frame: Uint8Array) => void;
  key: string;
}

/**
 * The debug channel's hook (chiTCP's debug API, done over the wire): every TCP segment between the
 * daemon's stack and its link or network layer passes here. With no subscription that costs one
 * check. A segment matching a subscription is shown to its subscriber; an intercepting subscriber
 * holds it until it answers — pass, drop, duplicate, or withhold (kept until released). Segments of
 * one flow and direction leave in the order they came, whatever order the verdicts arrive in;
 * other flows are never held up. State changes of matching connections are shown as they happen.
 */
export class SegmentGate {
  readonly stats: GateStats = {
    matched: 0,
    intercepted: 0,
    passed: 0,
    dropped: 0,
    duplicated: 0,
    withheld: 0,
    released: 0,
    queueFull: 0,
    withheldOverflow: 0,
    strayVerdicts: 0,
  };
  private withheldBytes = 0;
  private subs: Subscription[] = [];
  private nextEvent = 1;
  private readonly queues = new Map<string, Held[]>();
  private readonly pending = new Map<number, Held>();
  private readonly withheldMap = new Map<number, Held>();

  constructor(
    /** The most segments of one flow and direction waiting for verdicts; more are lost. */
    private readonly maxQueued = 4096,
    /** The most bytes withheld at once (a debugger that never releases must not exhaust memory). */
    private readonly maxWithheldBytes = 64 * 1024 * 1024,
  ) {}

  /** True when some subscription exists (wrappers skip decoding otherwise). */
  get active(): boolean {
    return this.subs.length > 0;
  }

  /** Segments withheld and not yet released. */
  get withheldCount(): number {
    return this.withheldMap.size;
  }

  subscribe(owner: GateSubscriber, id: number, filter: GateFilter): void {
    this.unsubscribe(owner, id);
    this.subs.push({ ...filter, owner, id });
  }

  /** Ends a subscription; what it held passes, what it withheld is released. */
  unsubscribe(owner: GateSubscriber, id: number): void {
    const gone = this.subs.filter((s) => s.owner === owner && s.id === id);
    if (gone.length === 0) return;
    this.subs = this.subs.filter((s) => !gone.includes(s));
    if (!this.subs.some((s) => s.owner === owner)) this.forget(owner);
  }

  /** A subscriber went away: its subscriptions end, held segments pass, withheld ones are released. */
  removeSubscriber(owner: GateSubscriber): void {
    this.subs = this.subs.filter((s) => s.owner !== owner);
    this.forget(owner);
  }

  /**
   * A segment crossing the gate. `frame` is what the lower side carries, lent for the call
   * (`segment` is the TCP part of it). True: deliver it now. False: the gate keeps it (a copy)
   * and calls `deliver` when its verdict says so.
   */
  offer(
    direction: number,
    source: number,
    destination: number,
    segment: Uint8Array,
    frame: Uint8Array,
    deliver: (frame: Uint8Array) => void,
  ): boolean {
    const outgoing = direction === DebugEvents.Outgoing;
    const flow: GateFlow = {
      localAddress: outgoing ? source : destination,
      localPort: outgoing ? port(segment, 0) : port(segment, 2),
      remoteAddress: outgoing ? destination : source,
      remotePort: outgoing ? port(segment, 2) : port(segment, 0),
    };
    const key = `${direction}:${flow.remoteAddress}:${flow.localPort}:${flow.remotePort}`;
    let interceptor: Subscription | undefined;
    for (const s of this.subs) {
      if ((s.events & direction) === 0 || !matches(s, flow)) continue;
      if (s.intercept && interceptor === undefined) interceptor = s;
      else s.owner.debugSegment(s.id, 0, direction, source, destination, segment);
    }
    const queue = this.queues.get(key);
    if (interceptor === undefined) {
      if (queue === undefined) return true;
      // Not intercepted, but earlier segments of the flow wait: keep the order.
      queue.push({
        event: 0,
        owner: undefined,
        verdict: DebugAction.Pass,
        frame: frame.slice(),
        deliver,
        key,
      });
      return false;
    }
    this.stats.matched++;
    if (queue !== undefined && queue.length >= this.maxQueued) {
      this.stats.queueFull++;
      return false;
    }
    const held: Held = {
      event: this.nextEvent,
      owner: interceptor.owner,
      verdict: -1,
      frame: frame.slice(),
      deliver,
      key,
    };
    this.nextEvent = this.nextEvent >= 0xffff_ffff ? 1 : this.nextEvent + 1;
    if (queue === undefined) this.queues.set(key, [held]);
    else queue.push(held);
    this.pending.set(held.event, held);
    this.stats.intercepted++;
    interceptor.owner.debugSegment(interceptor.id, held.event, direction, source, destination, segment);
    return false;
  }

  /** A subscriber's answer to event `event`. */
  verdict(owner: GateSubscriber, event: number, action: number): void {
    const held = this.pending.get(event);
    if (held === undefined || held.owner !== owner || action < 0 || action > DebugAction.Withhold) {
      this.stats.strayVerdicts++;
      return;
    }
    this.pending.delete(event);
    held.verdict = action;
    this.drain(held.key);
  }

  /** Delivers withheld segment `event` (0: every segment `owner` withheld, in the order withheld). */
  release(owner: GateSubscriber, event: number): void {
    const list =
      event === 0
        ? [...this.withheldMap.values()].filter((h) => h.owner === owner)
        : [this.withheldMap.get(event)].filter((h): h is Held => h?.owner === owner);
    for (const h of list) {
      this.withheldMap.delete(h.event);
      this.withheldBytes -= h.frame.length;
      this.stats.released++;
      h.deliver(h.frame);
    }
  }

  /** A connection changed state (from the stack's logger). */
  stateChange(flow: GateFlow, from: string, to: string): void {
    for (const s of this.subs) {
      if (s.events & DebugEvents.State && matches(s, flow)) s.owner.debugState(s.id, flow, from, to);
    }
  }

  private forget(owner: GateSubscriber): void {
    for (const h of [...this.pending.values()]) {
      if (h.owner !== owner) continue;
      this.pending.delete(h.event);
      h.verdict = DebugAction.Pass;
      this.drain(h.key);
    }
    this.release(owner, 0);
  }

  /** Sends the head of a flow's queue on while it has its verdict. */
  private drain(key: string): void {
    const q = this.queues.get(key);
    if (q === undefined) return;
    while (q.length > 0 && q[0]!.verdict >= 0) {
      const h = q.shift()!;
      switch (h.verdict) {
        case DebugAction.Pass:
          this.stats.passed++;
          h.deliver(h.frame);
          break;
        case DebugAction.Drop:
          this.stats.dropped++;
          break;
        case DebugAction.Duplicate:
          this.stats.duplicated++;
          h.deliver(h.frame);
          h.deliver(h.frame);
          break;
        case DebugAction.Withhold:
          if (this.withheldBytes + h.frame.length > this.maxWithheldBytes) {
            this.stats.withheldOverflow++;
            break;
          }
          this.stats.withheld++;
          this.withheldBytes += h.frame.length;
          this.withheldMap.set(h.event, h);
          break;
      }
    }
    if (q.length === 0 && this.queues.get(key) === q) this.queues.delete(key);
  }
}

function port(segment: Uint8Array, at: number): number {
  return (segment[at]! << 8) | segment[at + 1]!;
}

function matches(s: GateFilter, f: GateFlow): boolean {
  return (
    (s.localPort === 0 || s.localPort === f.localPort) &&
    (s.remotePort === 0 || s.remotePort === f.remotePort) &&
    (s.remoteAddress === 0 || s.remoteAddress === f.remoteAddress)
  );
}
