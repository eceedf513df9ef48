import { DecodeError, randomU32 } from "@userstack/wire";
import {
  broadcastAddress,
  IPV4_BROADCAST,
  type Ipv4Cidr,
  inSubnet,
  isLoopbackIpv4,
  isMulticastIpv4,
} from "./address.js";
import { copiedIpv4Options, Ipv4OptionType, parseIpv4Options } from "./ipv4-options.js";
import {
  decodeIpv4,
  IPV4_DEFAULT_TTL,
  IPV4_MAX_TOTAL_LENGTH,
  type Ipv4Header,
  Ipv4View,
  ipv4HeaderLength,
  writeIpv4Header,
} from "./ipv4-packet.js";
import { PathMtuCache } from "./path-mtu.js";
import { Reassembler, type ReassemblyConfig } from "./reassembly.js";

/** Configuration of an {@link Ipv4Interface}. */
export interface Ipv4InterfaceConfig {
  /** Our address and prefix length on the link: `parseCidr("10.0.0.2/24")`. */
  address: Ipv4Cidr;
  /** The router for destinations off the link; without it they get `"no-route"`. */
  gateway?: number;
  /** The largest datagram the link carries (1500 on Ethernet). */
  mtu?: number;
  /** TTL of the datagrams we send. Default 64. */
  ttl?: number;
  /**
   * Bytes kept free before each datagram in the buffer handed to `transmit`, for the link header
   * (14 for Ethernet, 0 for an IP link): the glue writes it in place, no copy.
   */
  headroom?: number;
  /** First identification value; default random. Successive datagrams count up from it. */
  identification?: number;
  /** Accept datagrams carrying a source route option (default false, like Linux's accept_source_route). */
  acceptSourceRoute?: boolean;
  reassembly?: ReassemblyConfig;
}

/** What an {@link Ipv4Interface} asks of its owner (the glue). Arguments are lent for the call. */
export interface Ipv4Events {
  /**
   * Send a datagram: `frame` is `headroom` bytes for the link header (the glue fills them)
   * followed by the datagram. `nextHop` is the neighbour to hand it to: the destination itself
   * on the link, the gateway otherwise, or a broadcast address (check `isBroadcast(nextHop)`).
   */
  transmit(frame: Uint8Array, nextHop: number): void;
  /**
   * A datagram for us, validated and reassembled if it came in fragments. The view is lent for the
   * call (the engine decodes the next datagram into it); a reassembled datagram's buffer, though,
   * belongs to the receiver. `broadcast` when it was sent to a broadcast address —
   * which, with link-layer broadcasts, RFC 1122 §3.2.2 forbids answering with ICMP errors.
   */
  deliver(ip: Ipv4View, broadcast: boolean): void;
  /**
   * A datagram whose first fragment arrived timed out in reassembly: `firstFragment` is its header
   * and first data. RFC 1122 §3.3.2: send ICMP Time Exceeded, code 1, quoting it.
   */
  reassemblyTimeout?(firstFragment: Uint8Array): void;
}

/** Per-datagram choices for {@link Ipv4Interface.send}. */
export interface Ipv4SendOptions {
  /** Don't Fragment: too big for the path MTU gives `"too-big"` instead of fragments (RFC 1191). */
  dontFragment?: boolean;
  ttl?: number;
  dscp?: number;
  ecn?: number;
  /** Raw option bytes (see `encodeIpv4Options`); copied options go into every fragment. */
  options?: Uint8Array;
}

/**
 * The result of {@link Ipv4Interface.send}:
 * - `"sent"`: handed to `transmit` (as one datagram or as fragments);
 * - `"no-route"`: off the link with no gateway, or an address we cannot send to (multicast,
 *   0.0.0.0, loopback, ourselves): the glue reports ENETUNREACH/EHOSTUNREACH;
 * - `"too-big"`: over the path MTU with DF set, or over 65535 bytes: EMSGSIZE.
 */
export type Ipv4SendResult = "sent" | "no-route" | "too-big";

/** Counters of an {@link Ipv4Interface}: every dropped datagram is in one (reassembly has its own). */
export interface Ipv4Stats {
  /** Datagrams given to `receive`. */
  received: number;
  /** Datagrams handed to `deliver` (reassembled ones once). */
  delivered: number;
  truncated: number;
  badVersion: number;
  badLength: number;
  badChecksum: number;
  /** Malformed options (RFC 1122 §3.2.1.8 lets a host discard them). */
  badOptions: number;
  /** Datagrams with a source route option while `acceptSourceRoute` is off. */
  sourceRouted: number;
  /** Datagrams for another host or a multicast group. */
  foreign: number;
  /** Datagrams whose source cannot be a single host (RFC 1122 §3.2.1.3) or is ourselves. */
  badSource: number;
  /** Fragments passed to reassembly. */
  fragments: number;
  /** Datagrams sent (each counts once, however many fragments). */
  sent: number;
  /** Fragments sent. */
  fragmentsSent: number;
  noRoute: number;
  tooBig: number;
}

/**
 * One IPv4 interface of a host, sans-IO: routing to the link or the gateway, TTL and
 * identification, fragmentation of what exceeds the MTU, validation and reassembly of what
 * arrives, with a counter for every drop. No clock, no timers: `now` comes in, `deadline()` says
 * when to call `poll(now)`. A host, not a router: nothing is forwarded (RFC 1122 §3.3.1).
 *
 * ```ts
 * const ip = new Ipv4Interface({ address: parseCidr("10.0.0.2/24")!, gateway: parseIpv4("10.0.0.1"), mtu: 1500, headroom: 14 }, events);
 * ip.send(parseIpv4("10.0.0.7")!, IpProtocol.Tcp, segment, now);  // → events.transmit(frame, nextHop)
 * ip.receive(ethernetPayload, now);                                // → events.deliver(view, broadcast)
 * ```
 */
export class Ipv4Interface {
  readonly stats: Ipv4Stats = {
    received: 0,
    delivered: 0,
    truncated: 0,
    badVersion: 0,
    badLength: 0,
    badChecksum: 0,
    badOptions: 0,
    sourceRouted: 0,
    foreign: 0,
    badSource: 0,
    fragments: 0,
    sent: 0,
    fragmentsSent: 0,
    noRoute: 0,
    tooBig: 0,
  };
  /** The reassembly engine (its own counters in `reassembly.stats`). */
  readonly reassembly: Reassembler;
  /** Path MTU estimates learnt from ICMP (RFC 1191). */
  readonly pathMtus = new PathMtuCache();
  readonly address: number;
  readonly prefix: number;
  readonly gateway: number | undefined;
  readonly mtu: number;
  readonly headroom: number;
  private readonly ttl: number;
  private readonly directedBroadcast: number;
  private readonly acceptSourceRoute: boolean;
  private identification: number;
  /** One buffer for every datagram and fragment sent: `transmit` lends it. */
  private readonly out: Uint8Array;
  private readonly header: Ipv4Header;
  private readonly onTimeout: (first: Uint8Array) => void;
  /** The view every received datagram is decoded into (lent to `deliver`, never kept). */
  private readonly rx = new Ipv4View(new Uint8Array(0));

  constructor(
    config: Ipv4InterfaceConfig,
    private readonly events: Ipv4Events,
  ) {
    this.address = config.address.address;
    this.prefix = config.address.prefix;
    this.gateway = config.gateway;
    this.mtu = config.mtu ?? 1500;
    if (this.mtu < 68)
      throw new RangeError(`Ipv4Interface: an MTU of ${this.mtu} is below IPv4's minimum of 68`);
    if (config.gateway !== undefined && !inSubnet(config.gateway, config.address))
      throw new RangeError("Ipv4Interface: the gateway must be on the link (inside address/prefix)");
    this.headroom = config.headroom ?? 0;
    this.ttl = config.ttl ?? IPV4_DEFAULT_TTL;
    // A /31 (RFC 3021) or /32 has no directed broadcast address.
    this.directedBroadcast = this.prefix <= 30 ? broadcastAddress(config.address) : IPV4_BROADCAST;
    this.acceptSourceRoute = config.acceptSourceRoute ?? false;
    this.identification = (config.identification ?? randomU32()) & 0xffff;
    this.reassembly = new Reassembler(config.reassembly);
    this.out = new Uint8Array(this.headroom + this.mtu);
    this.header = { protocol: 0, source: this.address, destination: 0 };
    this.onTimeout = (first) => this.events.reassemblyTimeout?.(first);
  }

  /** True for the limited broadcast and our subnet's directed broadcast (RFC 1122 §3.2.1.3, RFC 919/922). */
  isBroadcast(a: number): boolean {
    return a === IPV4_BROADCAST || a === this.directedBroadcast;
  }

  /** True when `a` is on the link: inside our prefix, or a broadcast address. */
  isOnLink(a: number): boolean {
    return this.isBroadcast(a) || inSubnet(a, { address: this.address, prefix: this.prefix });
  }

  /** The neighbour a datagram to `destination` goes to, or undefined when there is no route. */
  nextHop(destination: number): number | undefined {
    if (
      destination === 0 ||
      destination === this.address ||
      isMulticastIpv4(destination) ||
      isLoopbackIpv4(destination)
    )
      return undefined;
    if (this.isOnLink(destination)) return destination;
    return this.gateway;
  }

  /** The largest datagram that reaches `destination` unfragmented: the link MTU or a smaller learnt path MTU. */
  pathMtu(destination: number, now: number): number {
    return this.pathMtus.get(destination, this.mtu, now);
  }

  /** When {@link poll} must run next (reassembly timeouts), or undefined. */
  deadline(): number | undefined {
    return this.reassembly.deadline();
  }

  /** Abandons timed-out reassemblies (reporting those whose first fragment arrived). */
  poll(now: number): void {
    this.reassembly.poll(now, this.onTimeout);
  }

  /**
   * Sends `payload` (lent; copied once into the output buffer) to `destination` as protocol
   * `protocol`: routes it, numbers it, fragments it to the link MTU unless DF is set (RFC 791
   * §3.2; options without the copied flag go in the first fragment only), and hands each
   * datagram or fragment to `transmit`.
   */
  send(
    destination: number,
    protocol: number,
    payload: Uint8Array,
    now: number,
    options: Ipv4SendOptions = {},
  ): Ipv4SendResult {
    const hop = this.nextHop(destination);
    if (hop === undefined) {
      this.stats.noRoute++;
      return "no-route";
    }
    const h = this.header;
    h.protocol = protocol;
    h.destination = destination;
    h.ttl = options.ttl ?? this.ttl;
    h.dscp = options.dscp ?? 0;
    h.ecn = options.ecn ?? 0;
    h.dontFragment = options.dontFragment ?? false;
    h.moreFragments = false;
    h.fragmentOffset = 0;
    h.options = options.options;
    h.identification = this.identification;
    const hl = ipv4HeaderLength(h);
    const total = hl + payload.length;
    const limit = h.dontFragment ? this.pathMtu(destination, now) : this.mtu;
    if (total > IPV4_MAX_TOTAL_LENGTH || (total > limit && h.dontFragment)) {
      this.stats.tooBig++;
      return "too-big";
    }
    this.identification = (this.identification + 1) & 0xffff;
    this.stats.sent++;
    if (total <= this.mtu) {
      this.emit(h, payload, hop);
      return "sent";
    }
    // RFC 791 §3.2: fragments carry multiples of 8 data octets; later ones only the copied options.
    const later = h.options && h.options.length > 0 ? copiedIpv4Options(h.options) : undefined;
    let at = 0;
    while (at < payload.length) {
      const first = at === 0;
      if (!first) h.options = later !== undefined && later.length > 0 ? later : undefined;
      const room = (this.mtu - ipv4HeaderLength(h)) & ~7;
      const end = Math.min(payload.length, at + room);
      h.fragmentOffset = at;
      h.moreFragments = end < payload.length;
      this.emit(h, payload.subarray(at, end), hop);
      this.stats.fragmentsSent++;
      at = end;
    }
    return "sent";
  }

  private emit(h: Ipv4Header, data: Uint8Array, hop: number): void {
    const out = this.out;
    h.payloadLength = data.length;
    const p = writeIpv4Header(h, out, this.headroom);
    out.set(data, p);
    this.events.transmit(out.subarray(0, p + data.length), hop);
  }

  /**
   * Handles one received datagram at `bytes[at..]` (the link payload, or a whole frame with `at`
   * its header length; Ethernet padding allowed), with `now` for reassembly timers. Validated (RFC 791, RFC 1122 §3.2.1), checked for our address and a
   * sensible source, reassembled if fragmented, then delivered. Every drop is counted.
   */
  receive(bytes: Uint8Array, now: number, at = 0): void {
    this.stats.received++;
    const ip = decodeIpv4(bytes, true, at, this.rx);
    if (ip instanceof DecodeError) {
      if (ip.reason === "truncated") this.stats.truncated++;
      else if (ip.reason === "bad-version") this.stats.badVersion++;
      else if (ip.reason === "bad-checksum") this.stats.badChecksum++;
      else this.stats.badLength++;
      return;
    }
    // RFC 1122 §3.2.1.3: a host keeps datagrams for its address and the broadcast addresses only.
    const dst = ip.destination;
    const broadcast = this.isBroadcast(dst);
    if (dst !== this.address && !broadcast) {
      this.stats.foreign++;
      return;
    }
    // RFC 1122 §3.2.1.3: discard a source that is not a single host — 0, broadcast, multicast,
    // class E, loopback (g) — and (a martian, as Linux calls it) our own address.
    const src = ip.source;
    if (
      src === 0 ||
      src === this.address ||
      this.isBroadcast(src) ||
      src >>> 28 >= 0xe ||
      isLoopbackIpv4(src)
    ) {
      this.stats.badSource++;
      return;
    }
    if (ip.headerLength > 20 && !this.checkOptions(ip)) return;
    if (ip.isFragment) {
      this.stats.fragments++;
      const whole = this.reassembly.add(ip, now);
      if (whole === undefined) return;
      this.stats.delivered++;
      this.events.deliver(whole, broadcast);
      return;
    }
    this.stats.delivered++;
    this.events.deliver(ip, broadcast);
  }

  private checkOptions(ip: Ipv4View): boolean {
    const list = parseIpv4Options(ip.options);
    if (list instanceof DecodeError) {
      this.stats.badOptions++;
      return false;
    }
    if (!this.acceptSourceRoute) {
      for (const o of list) {
        if (o.type === Ipv4OptionType.LooseSourceRoute || o.type === Ipv4OptionType.StrictSourceRoute) {
          this.stats.sourceRouted++;
          return false;
        }
      }
    }
    return true;
  }
}
