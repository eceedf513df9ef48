import { decodeEthernet, EtherType } from "@userstack/ethernet";
import { decodeIpv4, formatIpv4, IpProtocol } from "@userstack/ipv4";
import type { Clock, Link, NetworkLayer, Receiver } from "@userstack/link";
import { decodeTcp, TCP_PROTOCOL, TcpFlag, type TcpOption, type TcpView } from "@userstack/tcp";
import { DecodeError } from "@userstack/wire";

/** One TCP segment as a sequence diagram draws it. */
export interface RecordedSegment {
  /** Milliseconds since the connection's first recorded segment. */
  t: number;
  /** "in": the peer sent it to our stack; "out": our stack sent it. */
  dir: "in" | "out";
  /** Flag names in tcpdump's order, e.g. ["SYN", "ACK"]. */
  flags: string[];
  /** Sequence number relative to the sender's initial one (absolute when the SYN was not seen). */
  seq: number;
  /** Acknowledgement relative to the receiver's initial sequence number (0 without ACK). */
  ack: number;
  /** Payload bytes. */
  len: number;
  /** Window field as sent (unscaled). */
  window: number;
  /** The options of a SYN, as tcpdump prints them ("mss 1460, sackOK, TS, wscale 7"); empty otherwise. */
  options: string;
  /** Data sent again (the range was sent before). */
  retransmission: boolean;
}

/** What was recorded of one connection. */
export interface ConnectionTrace {
  /** `local:port-remote:port`, the same id the status page uses for the connection. */
  id: string;
  /** The first segments, in order. */
  head: RecordedSegment[];
  /** Segments not recorded between head and tail. */
  skipped: number;
  /** FIN and RST segments after the head, and the ACK that answers a FIN. */
  tail: RecordedSegment[];
  /** True when a SYN began the trace (so sequence numbers are relative). */
  fromSyn: boolean;
}

/** Options of a {@link SegmentRecorder}. */
export interface SegmentRecorderOptions {
  /** Segments kept from the start of each connection (default 24). */
  head?: number;
  /** FIN/RST segments (and the ACKs of FINs) kept after the head (default 8). */
  tail?: number;
  /** Connections remembered; the oldest is forgotten beyond (default 256). */
  maxConnections?: number;
}

interface Trace extends ConnectionTrace {
  start: number;
  remote: number;
  key: number;
  /** Initial sequence numbers, ours and theirs (undefined until the SYN is seen). */
  isnOut: number | undefined;
  isnIn: number | undefined;
  /** Highest relative sequence end sent each way, to spot retransmissions. */
  endOut: number;
  endIn: number;
  /** A FIN or RST was seen: a later SYN on the same ports starts a new trace. */
  finished: boolean;
  /** A FIN went out, or came in, whose ACK the tail should show. */
  awaitingFinAck: boolean;
}

const FLAG_NAMES: [number, string][] = [
  [TcpFlag.SYN, "SYN"],
  [TcpFlag.FIN, "FIN"],
  [TcpFlag.RST, "RST"],
  [TcpFlag.PSH, "PSH"],
  [TcpFlag.ACK, "ACK"],
  [TcpFlag.URG, "URG"],
  [TcpFlag.ECE, "ECE"],
  [TcpFlag.CWR, "CWR"],
];

function describeOption(o: TcpOption): string | undefined {
  if ("mss" in o) return `mss ${o.mss}`;
  if ("shift" in o) return `wscale ${o.shift}`;
  if ("tsVal" in o) return "TS";
  if ("blocks" in o) return "sack";
  if (o.kind === 4) return "sackOK";
  if (o.kind === 0 || o.kind === 1) return undefined;
  return `opt-${o.kind}`;
}

/**
 * Records the first segments of every TCP connection that crosses a link (or a tunnel's network
 * layer) — the handshake, the first data, and the FINs or RST at the end — for the status page's
 * sequence diagrams. It wraps the stack's link, so the stack itself is untouched:
 *
 * ```ts
 * const recorder = new SegmentRecorder(clock);
 * const stack = createStack({ link: recorder.wrapLink(link), ipv4: "10.0.2.15/24" });
 * recorder.trace("10.0.2.15:80-10.0.2.2:40001");
 * ```
 *
 * Memory is bounded: `head` + `tail` segments per connection, `maxConnections` connections. A
 * segment of a connection whose head is full costs a few byte reads and two map lookups; nothing
 * is allocated for it.
 */
export class SegmentRecorder {
  private readonly headLimit: number;
  private readonly tailLimit: number;
  private readonly maxConnections: number;
  /** remote address → (localPort << 16 | remotePort) → trace, as the stack keys its connections. */
  private readonly table = new Map<number, Map<number, Trace>>();
  /** Every trace by id, oldest first (for eviction and lookup). */
  private readonly byId = new Map<string, Trace>();
  private localAddress = 0;

  constructor(
    private readonly clock: Clock,
    options: SegmentRecorderOptions = {},
  ) {
    this.headLimit = options.head ?? 24;
    this.tailLimit = options.tail ?? 8;
    this.maxConnections = options.maxConnections ?? 256;
  }

  /** The trace of a connection by its id, or undefined when none was recorded (or it was forgotten). */
  trace(id: string): ConnectionTrace | undefined {
    const t = this.byId.get(id);
    if (t === undefined) return undefined;
    return { id: t.id, head: t.head, skipped: t.skipped, tail: t.tail, fromSyn: t.fromSyn };
  }

  /** Ids of the connections recorded, oldest first. */
  ids(): string[] {
    return [...this.byId.keys()];
  }

  /** Wraps a link (Ethernet or IP medium): frames pass unchanged, TCP segments are recorded. */
  wrapLink(inner: Link): Link {
    const see = (frame: Uint8Array, dir: "in" | "out") => {
      let ipBytes = frame;
      if (inner.medium === "ethernet") {
        const eth = decodeEthernet(frame);
        if (eth instanceof DecodeError || eth.etherType !== EtherType.Ipv4) return;
        ipBytes = eth.payload;
      }
      if (ipBytes.length < 20 || ipBytes[9] !== IpProtocol.Tcp) return;
      const ip = decodeIpv4(ipBytes);
      if (ip instanceof DecodeError) return;
      this.see(dir, ip.source, ip.destination, ip.payload);
    };
    return {
      get medium() {
        return inner.medium;
      },
      get mtu() {
        return inner.mtu;
      },
      get mac() {
        return inner.mac;
      },
      send(frame) {
        see(frame, "out");
        inner.send(frame);
      },
      sendMany(frames) {
        for (const f of frames) see(f, "out");
        if (inner.sendMany) inner.sendMany(frames);
        else for (const f of frames) inner.send(f);
      },
      attach(receiver: Receiver) {
        inner.attach({
          receive(frame) {
            see(frame, "in");
            receiver.receive(frame);
          },
          flush: () => receiver.flush(),
        });
      },
      close: () => inner.close(),
    };
  }

  /** Wraps a network layer (the tunnel): segments pass unchanged and are recorded. */
  wrapNetwork(inner: NetworkLayer): NetworkLayer {
    return {
      get localAddress() {
        return inner.localAddress;
      },
      pathMtu: (d) => inner.pathMtu(d),
      send: (destination, protocol, segment) => {
        if (protocol === TCP_PROTOCOL) this.see("out", inner.localAddress, destination, segment);
        inner.send(destination, protocol, segment);
      },
      attach: (receiver) => {
        inner.attach({
          receive: (source, destination, protocol, segment) => {
            if (protocol === TCP_PROTOCOL) this.see("in", source, destination, segment);
            receiver.receive(source, destination, protocol, segment);
          },
          flush: () => receiver.flush(),
        });
      },
      close: () => inner.close(),
    };
  }

  /** One segment seen on the wire, `dir` relative to our stack. */
  private see(dir: "in" | "out", source: number, destination: number, bytes: Uint8Array): void {
    if (bytes.length < 20) return;
    const local = dir === "out" ? source : destination;
    const remote = dir === "out" ? destination : source;
    const sport = (bytes[0]! << 8) | bytes[1]!;
    const dport = (bytes[2]! << 8) | bytes[3]!;
    const localPort = dir === "out" ? sport : dport;
    const remotePort = dir === "out" ? dport : sport;
    const flags = bytes[13]!;
    const key = ((localPort << 16) | remotePort) >>> 0;
    let t = this.table.get(remote)?.get(key);
    const synOnly = (flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN;
    if (t === undefined || (t.finished && synOnly)) {
      this.localAddress = local;
      t = this.start(remote, key, localPort, remotePort);
    } else if (
      t.head.length >= this.headLimit &&
      (flags & (TcpFlag.FIN | TcpFlag.RST)) === 0 &&
      !t.awaitingFinAck
    ) {
      t.skipped++;
      return;
    }
    const tcp = decodeTcp(bytes);
    if (tcp instanceof DecodeError) return;
    this.add(t, dir, tcp);
  }

  private start(remote: number, key: number, localPort: number, remotePort: number): Trace {
    const id = `${formatIpv4(this.localAddress)}:${localPort}-${formatIpv4(remote)}:${remotePort}`;
    const old = this.byId.get(id);
    if (old !== undefined) this.forget(old);
    while (this.byId.size >= this.maxConnections) this.forget(this.byId.values().next().value!);
    const t: Trace = {
      id,
      head: [],
      skipped: 0,
      tail: [],
      fromSyn: false,
      start: this.clock.now(),
      remote,
      key,
      isnOut: undefined,
      isnIn: undefined,
      endOut: 0,
      endIn: 0,
      finished: false,
      awaitingFinAck: false,
    };
    let inner = this.table.get(remote);
    if (inner === undefined) {
      inner = new Map();
      this.table.set(remote, inner);
    }
    inner.set(key, t);
    this.byId.set(id, t);
    return t;
  }

  private forget(t: Trace): void {
    this.byId.delete(t.id);
    const inner = this.table.get(t.remote);
    if (inner?.get(t.key) === t) {
      inner.delete(t.key);
      if (inner.size === 0) this.table.delete(t.remote);
    }
  }

  private add(t: Trace, dir: "in" | "out", tcp: TcpView): void {
    const flags = tcp.flags;
    if (flags & TcpFlag.SYN) {
      if (dir === "out") t.isnOut = tcp.seq;
      else t.isnIn = tcp.seq;
      if (t.head.length === 0) t.fromSyn = true;
    }
    const isnSelf = dir === "out" ? t.isnOut : t.isnIn;
    const isnOther = dir === "out" ? t.isnIn : t.isnOut;
    const seq = isnSelf === undefined ? tcp.seq : (tcp.seq - isnSelf) >>> 0;
    const ack = !(flags & TcpFlag.ACK) ? 0 : isnOther === undefined ? tcp.ack : (tcp.ack - isnOther) >>> 0;
    const len = tcp.payloadLength;
    const end = seq + len;
    const sentBefore = dir === "out" ? t.endOut : t.endIn;
    const retransmission = len > 0 && end <= sentBefore;
    if (dir === "out") t.endOut = Math.max(t.endOut, end);
    else t.endIn = Math.max(t.endIn, end);
    const seg: RecordedSegment = {
      t: this.clock.now() - t.start,
      dir,
      flags: FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n),
      seq,
      ack,
      len,
      window: tcp.window,
      options:
        flags & TcpFlag.SYN
          ? tcp.options
              .map(describeOption)
              .filter((o) => o !== undefined)
              .join(", ")
          : "",
      retransmission,
    };
    const fin = (flags & TcpFlag.FIN) !== 0;
    if (fin || flags & TcpFlag.RST) t.finished = true;
    if (t.head.length < this.headLimit) {
      t.head.push(seg);
      t.awaitingFinAck = fin;
      return;
    }
    if (t.tail.length < this.tailLimit) t.tail.push(seg);
    else t.skipped++;
    t.awaitingFinAck = fin;
  }
}
