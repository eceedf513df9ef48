import { NeighborCache } from "@userstack/arp";
import {
  BROADCAST_MAC,
  decodeEthernet,
  EtherType,
  formatMac,
  isBroadcastMac,
  isMulticastMac,
  macEqual,
  writeEthernetHeader,
} from "@userstack/ethernet";
import { IcmpEngine, type IcmpErrorReport, IcmpType, type PingReply, UnreachableCode } from "@userstack/icmp";
import {
  formatIpv4,
  IpProtocol,
  type Ipv4Cidr,
  type Ipv4Header,
  Ipv4Interface,
  type Ipv4View,
  internetChecksum,
  pseudoHeaderSum,
  writeIpv4Header,
} from "@userstack/ipv4";
import type { HeapEntry, Link } from "@userstack/link";
import {
  TCP_HEADER_LENGTH,
  TcpFlag,
  type TcpSegmentOut,
  writeTcpChecksum,
  writeTcpSegment,
} from "@userstack/tcp";
import { DecodeError, randomU32, u16 } from "@userstack/wire";
import { SocketError } from "./errors.js";
import type { IcmpErrorKind, InterfaceInfo, NetworkPath, PathReceiver } from "./network-path.js";
import type { Timed } from "./timer-queue.js";

const ETHERNET_HEADER = 14;
const IPV4_HEADER = 20;

/** Options of a {@link LinkPath}. */
export interface LinkPathOptions {
  /** Our address and prefix. */
  ipv4: Ipv4Cidr;
  /** Default gateway (on the link), or undefined for on-link destinations only. */
  gateway?: number;
  /** Our MAC on an Ethernet link. */
  mac: Uint8Array;
}

/** Counters of the link layer and of the TCP fast path; the engines keep their own. */
export interface LinkPathCounters {
  framesIn: number;
  framesOut: number;
  ethernetMalformed: number;
  notForOurMac: number;
  unknownEtherType: number;
  tcpSent: number;
  tcpNoRoute: number;
  tcpOversize: number;
  tcpBroadcastDropped: number;
  /** Segments to our own address, looped back without touching the link. */
  tcpLoopedBack: number;
  /** Frames of several merged segments handed to a link with segmentation offload. */
  tcpSegmentedFrames: number;
  unknownProtocol: number;
}

/** A ping's result. */
export interface PingResult {
  /** Round-trip time in ms. */
  rttMs: number;
  /** Data bytes echoed. */
  bytes: number;
  /** TTL of the reply. */
  ttl: number;
}

/**
 * IPv4 over a {@link Link} for the stack, composed of the sans-IO engines: the ARP neighbour cache
 * (Ethernet links), the IPv4 interface (validation, routing, reassembly, fragmentation) and ICMP
 * (echo, errors, ping). TCP segments take a fast path: Ethernet, IPv4 and TCP headers are written
 * in place around the payload in one reused frame buffer (the link lends frames, so nothing is
 * allocated per segment); everything else goes through the engines.
 */
export class LinkPath implements NetworkPath, Timed {
  readonly counters: LinkPathCounters = {
    framesIn: 0,
    framesOut: 0,
    ethernetMalformed: 0,
    notForOurMac: 0,
    unknownEtherType: 0,
    tcpSent: 0,
    tcpNoRoute: 0,
    tcpOversize: 0,
    tcpBroadcastDropped: 0,
    tcpLoopedBack: 0,
    tcpSegmentedFrames: 0,
    unknownProtocol: 0,
  };
  readonly ip: Ipv4Interface;
  readonly icmp: IcmpEngine;
  /** Present on Ethernet links. */
  readonly arp: NeighborCache<Uint8Array> | undefined;
  readonly mac: Uint8Array;
  timerEntry: HeapEntry<Timed> | undefined = undefined;
  private readonly ethernet: boolean;
  private readonly headroom: number;
  /** Room for the largest datagram plus a frame header, so writing never overruns. */
  private readonly out = new Uint8Array(65536 + ETHERNET_HEADER);
  private identification = randomU32() & 0xffff;
  /** The IPv4 header of TCP's fast path, reused: only the varying fields change per segment. */
  private readonly tcpHeader: Ipv4Header = {
    protocol: IpProtocol.Tcp,
    source: 0,
    destination: 0,
    identification: 0,
    dontFragment: true, // RFC 1191 path MTU discovery, as Linux sets for TCP
    payloadLength: 0,
  };
  /** The merged frame being built in `out` for a link with segmentation offload. */
  private readonly gso = {
    /** The link's limit for a merged datagram; 0 when it offers no offload. */
    limit: 0,
    segments: 0,
    mss: 0,
    hop: 0,
    mac: undefined as Uint8Array | undefined,
    source: 0,
    destination: 0,
    ports: 0,
    ack: 0,
    window: 0,
    nextSeq: 0,
    tcpAt: 0,
    headerLength: 0,
    end: 0,
  };
  /** Segments to our own address, waiting for the next timer turn. */
  private looped: Uint8Array[] = [];
  private readonly pings = new Map<number, { resolve(r: PingResult): void; reject(e: Error): void }>();

  constructor(
    private readonly link: Link,
    private readonly rx: PathReceiver,
    options: LinkPathOptions,
  ) {
    this.ethernet = link.medium === "ethernet";
    if (link.sendSegmented !== undefined && (link.segmentationOffload ?? 0) > link.mtu) {
      this.gso.limit = Math.min(link.segmentationOffload!, 65535);
    }
    this.headroom = this.ethernet ? ETHERNET_HEADER : 0;
    this.mac = options.mac;
    this.ip = new Ipv4Interface(
      { address: options.ipv4, gateway: options.gateway, mtu: link.mtu, headroom: this.headroom },
      {
        transmit: (frame, nextHop) => this.transmit(frame, nextHop),
        deliver: (view, broadcast) => this.deliver(view, broadcast),
        reassemblyTimeout: (first) => this.icmp.reassemblyTimeExceeded(first, this.rx.now()),
      },
    );
    this.icmp = new IcmpEngine(
      { address: options.ipv4.address, isBroadcast: (a) => this.ip.isBroadcast(a) },
      {
        send: (to, message) => this.ip.send(to, IpProtocol.Icmp, message, this.rx.now()),
        error: (report) => this.icmpError(report),
        pingReply: (r) => this.settlePing(r.sequence, r),
        pingTimeout: (t) => this.settlePing(t.sequence, undefined),
      },
    );
    if (this.ethernet) {
      this.arp = new NeighborCache<Uint8Array>(
        { mac: this.mac, addresses: [options.ipv4.address] },
        {
          sendArp: (packet, destination) => this.sendFrame(destination, EtherType.Arp, packet),
          resolved: (_ip, mac, packets) => {
            for (const p of packets) this.sendFrame(mac, EtherType.Ipv4, p);
          },
          unreachable: (_ip, packets) => {
            for (const p of packets) this.reportUnreachable(p);
          },
        },
      );
    }
    link.attach({ receive: (frame) => this.receive(frame), flush: () => rx.flush() });
    this.arp?.start(rx.now());
    this.reschedule();
  }

  get localAddress(): number {
    return this.ip.address;
  }

  mtu(destination: number): number {
    return destination === 0 ? this.ip.mtu : this.ip.pathMtu(destination, this.rx.now());
  }

  routeError(destination: number): "EHOSTUNREACH" | "ENETUNREACH" | undefined {
    if (destination === this.ip.address) return undefined; // looped back, as Linux's lo does
    return this.ip.nextHop(destination) === undefined ? "ENETUNREACH" : undefined;
  }

  /** TCP's fast path: IPv4 (and Ethernet) headers written in place around the segment. */
  sendTcp(segment: TcpSegmentOut): void {
    const now = this.rx.now();
    const dst = segment.remoteAddress;
    const g = this.gso;
    if (dst === this.ip.address) {
      this.flushSegmented(); // loopBack builds in `out` too
      this.loopBack(segment, now);
      return;
    }
    const hop = this.ip.nextHop(dst);
    if (hop === undefined) {
      this.counters.tcpNoRoute++;
      return;
    }
    if (this.ip.isBroadcast(dst)) {
      this.counters.tcpBroadcastDropped++;
      return;
    }
    if (g.segments > 0) {
      if (this.canMerge(segment)) {
        this.merge(segment);
        return;
      }
      this.flushSegmented();
    }
    const out = this.out;
    const ipAt = this.headroom;
    const end = writeTcpSegment(segment, out, ipAt + IPV4_HEADER, g.limit === 0);
    const length = end - ipAt;
    const mtu = this.ip.pathMtu(dst, now);
    if (length > mtu) {
      this.counters.tcpOversize++;
      return;
    }
    this.writeIpHeader(segment.localAddress, dst, length);
    this.counters.tcpSent++;
    if (g.limit > 0 && this.startsMerge(segment, hop, mtu, now)) return;
    if (g.limit > 0) writeTcpChecksum(out.subarray(ipAt + IPV4_HEADER, end), segment.localAddress, dst);
    this.transmit(out.subarray(0, end), hop);
  }

  /** Writes the IPv4 header of TCP's fast path at the frame's IP offset. */
  private writeIpHeader(source: number, destination: number, length: number): void {
    // RFC 6864: an atomic datagram (DF, unfragmented) may carry any identification; a counter
    // of our own keeps it cheap.
    this.identification = (this.identification + 1) & 0xffff;
    const h = this.tcpHeader;
    h.source = source;
    h.destination = destination;
    h.identification = this.identification;
    h.payloadLength = length - IPV4_HEADER;
    writeIpv4Header(h, this.out, this.headroom);
  }

  // ---- segmentation offload: consecutive full-sized segments of one connection, merged ----

  /**
   * Keeps the segment just written in `out` as the start of a merged frame when the link
   * segments for us, the segment is full-sized data, and its next hop is resolved (a datagram
   * waiting for ARP must be one the link can carry as it is).
   */
  private startsMerge(segment: TcpSegmentOut, hop: number, mtu: number, now: number): boolean {
    const len = segment.payloadLength;
    const h = segment.header;
    const mss = mtu - IPV4_HEADER - h.length;
    if (len === 0 || len !== mss || (h.flags & ~(TcpFlag.ACK | TcpFlag.PSH)) !== 0 || h.flags & TcpFlag.PSH)
      return false;
    const mac = this.ethernet ? this.arp!.lookup(hop, now) : undefined;
    if (this.ethernet && mac === undefined) return false;
    const g = this.gso;
    g.segments = 1;
    g.mss = len;
    g.hop = hop;
    g.mac = mac;
    g.source = segment.localAddress;
    g.destination = segment.remoteAddress;
    g.ports = ((h.sourcePort << 16) | h.destinationPort) >>> 0;
    g.ack = h.ack;
    g.window = h.window;
    g.nextSeq = (h.seq + len) >>> 0;
    g.tcpAt = this.headroom + IPV4_HEADER;
    g.headerLength = h.length;
    g.end = g.tcpAt + h.length + len;
    return true;
  }

  /** True when `segment` continues the merged frame exactly: same connection, next bytes, same header. */
  private canMerge(segment: TcpSegmentOut): boolean {
    const g = this.gso;
    const h = segment.header;
    const len = segment.payloadLength;
    if (
      segment.remoteAddress !== g.destination ||
      segment.localAddress !== g.source ||
      ((h.sourcePort << 16) | h.destinationPort) >>> 0 !== g.ports ||
      h.seq !== g.nextSeq ||
      h.ack !== g.ack ||
      h.window !== g.window ||
      len === 0 ||
      len > g.mss ||
      h.length !== g.headerLength ||
      g.end + len - this.headroom > g.limit
    )
      return false;
    // Only ACK (PSH allowed on the last piece: the link keeps it on the last segment only).
    if ((h.flags & ~(TcpFlag.ACK | TcpFlag.PSH)) !== 0) return false;
    // The same options (the same timestamp within a burst): compare the option bytes.
    const opt = h.optionBytes;
    const at = g.tcpAt + TCP_HEADER_LENGTH;
    for (let i = 0; i < h.optionLength; i++) if (this.out[at + i] !== opt[i]) return false;
    return true;
  }

  private merge(segment: TcpSegmentOut): void {
    const g = this.gso;
    const out = this.out;
    const h = segment.header;
    if (segment.payload.length > 0) out.set(segment.payload, g.end);
    if (segment.payload2.length > 0) out.set(segment.payload2, g.end + segment.payload.length);
    const len = segment.payloadLength;
    g.end += len;
    g.nextSeq = (g.nextSeq + len) >>> 0;
    g.segments++;
    // The merged header takes the last piece's flags (PSH), as the link sets them on the last segment.
    out[g.tcpAt + 13] = h.flags;
    this.counters.tcpSent++;
    // A short piece ends the frame: only the last segment may be shorter than the MSS.
    if (len < g.mss) this.flushSegmented();
  }

  /** Sends the merged frame (or the single segment it holds) and forgets it. */
  private flushSegmented(): void {
    const g = this.gso;
    if (g.segments === 0) return;
    const out = this.out;
    const frame = out.subarray(0, g.end);
    const tcp = out.subarray(g.tcpAt, g.end);
    const segments = g.segments;
    g.segments = 0;
    if (segments === 1) {
      writeTcpChecksum(tcp, g.source, g.destination);
      this.transmit(frame, g.hop);
      return;
    }
    // IPv4 total length and header checksum for the whole; the TCP checksum field holds the
    // pseudo-header sum for the whole length, which the link completes per segment.
    const ipAt = this.headroom;
    const total = g.end - ipAt;
    out[ipAt + 2] = total >>> 8;
    out[ipAt + 3] = total & 0xff;
    out[ipAt + 10] = 0;
    out[ipAt + 11] = 0;
    const ipSum = internetChecksum(out, ipAt, ipAt + IPV4_HEADER);
    out[ipAt + 10] = ipSum >>> 8;
    out[ipAt + 11] = ipSum & 0xff;
    const pseudo = pseudoHeaderSum(g.source, g.destination, IpProtocol.Tcp, g.end - g.tcpAt);
    out[g.tcpAt + 16] = pseudo >>> 8;
    out[g.tcpAt + 17] = pseudo & 0xff;
    if (this.ethernet) this.writeEthernet(frame, g.mac!);
    this.counters.framesOut++;
    this.counters.tcpSegmentedFrames++;
    this.link.sendSegmented!(frame, g.mss);
  }

  flush(): void {
    this.flushSegmented();
    this.reschedule();
  }

  info(): InterfaceInfo {
    const counters: Record<string, number> = {};
    const add = (layer: string, o: object) => {
      for (const [k, v] of Object.entries(o)) if (typeof v === "number") counters[`${layer}.${k}`] = v;
    };
    add("link", this.counters);
    if (this.arp) add("arp", this.arp.stats);
    add("ipv4", this.ip.stats);
    add("reassembly", this.ip.reassembly.stats);
    add("icmp", this.icmp.stats);
    return {
      medium: this.link.medium,
      address: formatIpv4(this.ip.address),
      prefix: this.ip.prefix,
      gateway: this.ip.gateway === undefined ? undefined : formatIpv4(this.ip.gateway),
      mac: this.ethernet ? formatMac(this.mac) : undefined,
      mtu: this.ip.mtu,
      counters,
      neighbors: this.arp
        ?.list()
        .map((e) => ({ address: formatIpv4(e.ip), mac: e.mac ? formatMac(e.mac) : "", state: e.state })),
    };
  }

  /** Sends an echo request; resolves with the round trip, rejects with ETIMEDOUT or EHOSTUNREACH. */
  ping(destination: number, size: number, timeoutMs: number): Promise<PingResult> {
    if (this.ip.nextHop(destination) === undefined) {
      return Promise.reject(new SocketError("ENETUNREACH", "ping", formatIpv4(destination)));
    }
    const seq = this.icmp.ping(destination, this.rx.now(), size, timeoutMs);
    if (seq < 0)
      return Promise.reject(
        new SocketError("EALREADY", "ping", undefined, undefined, "too many pings outstanding"),
      );
    this.reschedule();
    this.rx.flush();
    return new Promise((resolve, reject) => {
      this.pings.set(seq, {
        resolve,
        reject: (e) => reject(Object.assign(e, { address: formatIpv4(destination) })),
      });
    });
  }

  onTimer(now: number): void {
    if (this.looped.length > 0) this.deliverLooped();
    this.arp?.poll(now);
    this.ip.poll(now);
    this.icmp.poll(now);
    this.reschedule();
  }

  async close(): Promise<void> {
    this.rx.schedule(this, undefined);
    for (const p of this.pings.values())
      p.reject(new SocketError("ESHUTDOWN", "ping", undefined, undefined, "the stack was closed"));
    this.pings.clear();
    await this.link.close();
  }

  // ---- receive ----

  private receive(frame: Uint8Array): void {
    this.counters.framesIn++;
    const now = this.rx.beginBatch();
    if (!this.ethernet) {
      this.ip.receive(frame, now);
      return;
    }
    const eth = decodeEthernet(frame);
    if (eth instanceof DecodeError) {
      this.counters.ethernetMalformed++;
      return;
    }
    // Ours, broadcast, or multicast (IPv4 decides what multicast it wants: none, here).
    if (!macEqual(frame, this.mac) && !isBroadcastMac(frame) && !isMulticastMac(frame)) {
      this.counters.notForOurMac++;
      return;
    }
    const type = eth.etherType;
    if (type === EtherType.Ipv4) this.ip.receive(frame, now, eth.headerLength);
    else if (type === EtherType.Arp) this.arp!.receive(eth.payload, now);
    else this.counters.unknownEtherType++;
  }

  private deliver(view: Ipv4View, broadcast: boolean): void {
    const now = this.rx.now();
    switch (view.protocol) {
      case IpProtocol.Tcp:
        // RFC 1122 §4.2.3.10: TCP segments to a broadcast address are dropped.
        if (broadcast) this.counters.tcpBroadcastDropped++;
        else this.rx.tcpSegment(view.source, view.destination, view.data, view.payloadStart, view.end);
        return;
      case IpProtocol.Icmp:
        this.icmp.receive(view, broadcast, now);
        return;
      default:
        // No UDP sockets and no other transports: a UDP port is unreachable (what a host with no
        // socket on that port answers), any other protocol is (RFC 1122 §3.2.2.1).
        this.counters.unknownProtocol++;
        this.icmp.destinationUnreachable(
          view,
          view.protocol === IpProtocol.Udp ? UnreachableCode.Port : UnreachableCode.Protocol,
          broadcast,
          now,
        );
    }
  }

  private icmpError(r: IcmpErrorReport): void {
    if (r.protocol !== IpProtocol.Tcp || r.source !== this.ip.address) return;
    if (r.errno === "EMSGSIZE") {
      this.ip.pathMtus.update(r.destination, r.mtu, this.rx.now());
    }
    const kind = icmpKind(r);
    if (kind === undefined) return;
    this.rx.tcpIcmpError(kind, r.sourcePort, r.destination, r.destinationPort, r.tcpSequence, r.mtu);
  }

  // ---- send ----

  /** Hands a datagram (at `frame[headroom..]`) to the link, resolving the next hop's MAC first. */
  private transmit(frame: Uint8Array, nextHop: number): void {
    // Order on the wire follows the order of sending: a merged frame waiting goes first. (TCP's
    // own frames come here only after flushSegmented, which also lives in `out`.)
    if (this.gso.segments > 0 && frame.buffer !== this.out.buffer) this.flushSegmented();
    if (!this.ethernet) {
      this.counters.framesOut++;
      this.link.send(frame);
      return;
    }
    const now = this.rx.now();
    const mac = this.ip.isBroadcast(nextHop) ? BROADCAST_MAC : this.arp!.lookup(nextHop, now);
    if (mac === undefined) {
      // Resolving: the neighbour cache keeps a copy of the datagram (bounded per address).
      this.arp!.enqueue(nextHop, frame.slice(ETHERNET_HEADER), now);
      this.reschedule();
      return;
    }
    this.writeEthernet(frame, mac);
    this.counters.framesOut++;
    this.link.send(frame);
  }

  /**
   * The Ethernet header of an IPv4 frame, by hand: this runs for every frame, and
   * writeEthernetHeader's header object and MAC views would be garbage for each.
   */
  private writeEthernet(frame: Uint8Array, mac: Uint8Array): void {
    const own = this.mac;
    for (let i = 0; i < 6; i++) {
      frame[i] = mac[i]!;
      frame[6 + i] = own[i]!;
    }
    frame[12] = EtherType.Ipv4 >>> 8;
    frame[13] = EtherType.Ipv4 & 0xff;
  }

  /** Sends `payload` in an Ethernet frame of `type` to `mac` (ARP packets, resolved datagrams). */
  private sendFrame(mac: Uint8Array, type: number, payload: Uint8Array): void {
    this.flushSegmented();
    const frame = new Uint8Array(Math.max(60, ETHERNET_HEADER + payload.length));
    writeEthernetHeader({ destination: mac, source: this.mac, etherType: type }, frame, 0);
    frame.set(payload, ETHERNET_HEADER);
    this.counters.framesOut++;
    this.link.send(frame);
  }

  /** ARP gave up on a next hop: the TCP connections whose datagrams waited hear EHOSTUNREACH. */
  private reportUnreachable(datagram: Uint8Array): void {
    if (datagram.length < IPV4_HEADER + 8 || datagram[9] !== IpProtocol.Tcp) return;
    const ihl = (datagram[0]! & 15) * 4;
    const dst = ((datagram[16]! << 24) | (datagram[17]! << 16) | (datagram[18]! << 8) | datagram[19]!) >>> 0;
    const seq =
      ((datagram[ihl + 4]! << 24) |
        (datagram[ihl + 5]! << 16) |
        (datagram[ihl + 6]! << 8) |
        datagram[ihl + 7]!) >>>
      0;
    this.rx.tcpIcmpError("host-unreachable", u16(datagram, ihl), dst, u16(datagram, ihl + 2), seq, 0);
  }

  private settlePing(seq: number, reply: PingReply | undefined): void {
    const p = this.pings.get(seq);
    if (p === undefined) return;
    this.pings.delete(seq);
    if (reply) p.resolve({ rttMs: reply.rttMs, bytes: reply.bytes, ttl: reply.ttl });
    else p.reject(new SocketError("ETIMEDOUT", "ping", undefined, undefined, "no echo reply in time"));
  }

  /**
   * A segment to our own address never reaches the link: it is kept and handed back to the stack
   * on the next timer turn (never inside the send, so the engine is not re-entered).
   */
  private loopBack(segment: TcpSegmentOut, now: number): void {
    const bytes = new Uint8Array(writeTcpSegment(segment, this.out, 0));
    bytes.set(this.out.subarray(0, bytes.length));
    this.looped.push(bytes);
    this.counters.tcpLoopedBack++;
    this.rx.schedule(this, now);
  }

  private deliverLooped(): void {
    const batch = this.looped;
    this.looped = [];
    const self = this.ip.address;
    for (const seg of batch) this.rx.tcpSegment(self, self, seg, 0, seg.length);
    this.rx.flush();
  }

  private reschedule(): void {
    if (this.looped.length > 0) {
      this.rx.schedule(this, this.rx.now());
      return;
    }
    let at = this.ip.deadline();
    const a = this.arp?.deadline();
    if (a !== undefined && (at === undefined || a < at)) at = a;
    const i = this.icmp.deadline();
    if (i !== undefined && (at === undefined || i < at)) at = i;
    this.rx.schedule(this, at);
  }
}

/** The TCP-relevant kind of an ICMP error (RFC 1122 §4.2.3.9, RFC 5927). */
function icmpKind(r: IcmpErrorReport): IcmpErrorKind | undefined {
  if (r.type === IcmpType.DestinationUnreachable) {
    switch (r.code) {
      case UnreachableCode.Port:
        return "port-unreachable";
      case UnreachableCode.Protocol:
        return "protocol-unreachable";
      case UnreachableCode.FragmentationNeeded:
        return "frag-needed";
      case UnreachableCode.Net:
        return "net-unreachable";
      case UnreachableCode.NetProhibited:
      case UnreachableCode.HostProhibited:
      case UnreachableCode.CommunicationProhibited:
        return "admin-prohibited";
      default:
        return "host-unreachable";
    }
  }
  // Time exceeded: a routing loop or a TTL too small; Linux reports EHOSTUNREACH (soft).
  if (r.type === IcmpType.TimeExceeded) return "host-unreachable";
  return undefined;
}
