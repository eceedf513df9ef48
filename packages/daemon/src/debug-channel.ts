import { formatIpv4, parseIpv4 } from "@userstack/ipv4";
import { decodeTcp, type TcpView } from "@userstack/tcp";
import { DecodeError, put16, put32, u16, u32 } from "@userstack/wire";
import type { MessageWriter } from "./message-writer.js";
import { DebugAction, DebugEvents, F, MessageType, stateName } from "./wire-format.js";

/** What a debug subscriber may answer about an intercepted segment. */
export type DebugVerdict = "pass" | "drop" | "duplicate" | "withhold";

/** One segment crossing the daemon stack's network path, as a debug subscriber sees it. */
export interface DebugSegmentEvent {
  /** Identifies the segment for {@link DebugSubscription.release}; 0 when it was only shown. */
  event: number;
  /** From the daemon stack's point of view. */
  direction: "incoming" | "outgoing";
  /** IPv4 addresses, dotted. */
  source: string;
  destination: string;
  /** The segment decoded by the TCP codec: `seq`, `ack`, `flags`, `payloadLength`, options… */
  tcp: TcpView;
}

/** A state change of a connection matching the subscription. */
export interface DebugStateEvent {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  from: string;
  to: string;
}

/** Which connections and events a subscription covers (unset fields match anything). */
export interface DebugSubscribeOptions {
  /** The daemon stack's port of the connection (a listening port covers its accepted connections). */
  localPort?: number;
  remotePort?: number;
  /** The peer's IPv4 address, dotted. */
  remoteAddress?: string;
  /** Default: every kind there is a handler for. */
  events?: ("state" | "incoming" | "outgoing")[];
  /**
   * Called for each matching segment. Its answer (or the answer its promise resolves to) is the
   * segment's fate; nothing (or "pass") lets it go. While it decides, the flow's later segments
   * wait behind it, in order.
   */
  onSegment?: (e: DebugSegmentEvent) => DebugVerdict | undefined | Promise<DebugVerdict | undefined>;
  /** Called for each state change of a matching connection. */
  onState?: (e: DebugStateEvent) => void;
  /** Only watch segments, never hold them (default false when `onSegment` is given). */
  watchOnly?: boolean;
}

/** A live subscription. */
export interface DebugSubscription {
  readonly id: number;
  /** Sends a withheld segment on (no argument: every segment this client withheld, in order). */
  release(event?: number): void;
  /** Ends the subscription; segments it held pass, withheld ones are released. */
  unsubscribe(): void;
}

/** What the channel needs from its stack connection. */
export interface DebugHost {
  readonly writer: MessageWriter;
  readonly live: boolean;
}

const VERDICT: Record<DebugVerdict, number> = {
  pass: DebugAction.Pass,
  drop: DebugAction.Drop,
  duplicate: DebugAction.Duplicate,
  withhold: DebugAction.Withhold,
};

/**
 * chiTCP's debug API over the daemon protocol: subscribe to the state changes and the incoming and
 * outgoing segments of chosen connections of the daemon's stack, and answer each segment with
 * pass, drop, duplicate or withhold (then release) — unreliable networks and teaching exercises,
 * scripted:
 *
 * ```ts
 * let dropped = false;
 * stack.debug.subscribe({
 *   localPort: 8080,
 *   events: ["outgoing"],
 *   onSegment: ({ tcp }) => (tcp.payloadLength > 0 && !dropped ? ((dropped = true), "drop") : "pass"),
 * });
 * ```
 */
export class DebugChannel {
  private readonly subs = new Map<number, DebugSubscribeOptions>();
  private nextId = 1;

  constructor(private readonly host: DebugHost) {}

  subscribe(options: DebugSubscribeOptions): DebugSubscription {
    const id = this.nextId++;
    const kinds = options.events ?? [
      ...(options.onState ? (["state"] as const) : []),
      ...(options.onSegment ? (["incoming", "outgoing"] as const) : []),
    ];
    let events = 0;
    for (const k of kinds)
      events |=
        k === "state" ? DebugEvents.State : k === "incoming" ? DebugEvents.Incoming : DebugEvents.Outgoing;
    const remote = options.remoteAddress === undefined ? 0 : parseIpv4(options.remoteAddress);
    if (remote === undefined)
      throw new TypeError(
        `debug.subscribe(): remoteAddress "${options.remoteAddress}" is not a dotted IPv4 address.`,
      );
    this.subs.set(id, options);
    const S = F.debugSubscribe;
    const w = this.host.writer;
    if (this.host.live) {
      const b = w.begin(MessageType.DebugSubscribe, S.end);
      put32(w.bytes, b + S.subscription, id);
      put32(w.bytes, b + S.remoteAddress, remote);
      put16(w.bytes, b + S.localPort, options.localPort ?? 0);
      put16(w.bytes, b + S.remotePort, options.remotePort ?? 0);
      w.bytes[b + S.events] = events;
      w.bytes[b + S.intercept] = options.onSegment && !options.watchOnly ? 1 : 0;
    }
    return {
      id,
      release: (event = 0) => this.send(MessageType.DebugRelease, event),
      unsubscribe: () => {
        if (this.subs.delete(id)) this.send(MessageType.DebugUnsubscribe, id);
      },
    };
  }

  /** @internal */
  onMessage(m: Uint8Array): void {
    if (m[0] === MessageType.DebugState) {
      const D = F.debugState;
      if (m.length < D.end) return;
      this.subs.get(u32(m, D.subscription))?.onState?.({
        localAddress: formatIpv4(u32(m, D.localAddress)),
        localPort: u16(m, D.localPort),
        remoteAddress: formatIpv4(u32(m, D.remoteAddress)),
        remotePort: u16(m, D.remotePort),
        from: stateName(m[D.from]!),
        to: stateName(m[D.to]!),
      });
      return;
    }
    const D = F.debugSegment;
    if (m.length < D.segment) return;
    const sub = this.subs.get(u32(m, D.subscription));
    const event = u32(m, D.event);
    // A copy: the handler may keep the view beyond this batch.
    const tcp = decodeTcp(m.slice(D.segment));
    if (sub?.onSegment === undefined || tcp instanceof DecodeError) {
      if (event !== 0) this.verdict(event, "pass");
      return;
    }
    const e: DebugSegmentEvent = {
      event,
      direction: m[D.direction] === DebugEvents.Incoming ? "incoming" : "outgoing",
      source: formatIpv4(u32(m, D.source)),
      destination: formatIpv4(u32(m, D.destination)),
      tcp,
    };
    let answer: ReturnType<NonNullable<DebugSubscribeOptions["onSegment"]>>;
    try {
      answer = sub.onSegment(e);
    } catch (err) {
      if (event !== 0) this.verdict(event, "pass");
      throw err;
    }
    if (event === 0) return;
    if (answer instanceof Promise)
      answer.then(
        (v) => this.verdict(event, v ?? "pass"),
        () => this.verdict(event, "pass"),
      );
    else this.verdict(event, answer ?? "pass");
  }

  /** @internal The stack connection ended: subscriptions are gone with it. */
  onEnd(): void {
    this.subs.clear();
  }

  private verdict(event: number, v: DebugVerdict): void {
    if (!this.host.live) return;
    const D = F.debugVerdict;
    const w = this.host.writer;
    const b = w.begin(MessageType.DebugVerdict, D.end);
    put32(w.bytes, b + D.event, event);
    w.bytes[b + D.action] = VERDICT[v] ?? DebugAction.Pass;
  }

  private send(type: number, id: number): void {
    if (!this.host.live) return;
    const w = this.host.writer;
    const b = w.begin(type, 5);
    put32(w.bytes, b + 1, id);
  }
}
