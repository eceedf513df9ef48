import { decodeIpv4, type Ipv4View, isLoopbackIpv4, isMulticastIpv4 } from "@userstack/ipv4";
import { DecodeError, randomU32 } from "@userstack/wire";
import { emptyIcmpErrorReport, type IcmpErrorReport, readIcmpError } from "./icmp-error-report.js";
import { decodeIcmp, writeIcmpHeader } from "./icmp-message.js";
import { IcmpType, isIcmpError, TimeExceededCode } from "./icmp-type.js";
import { PingClient, type PingReply, type PingTimeout } from "./ping-client.js";
import { TokenBucket } from "./token-bucket.js";

/** Configuration of an {@link IcmpEngine}. */
export interface IcmpConfig {
  /** Our address: the source of what we send, and what quoted datagrams must come from. */
  address: number;
  /** Our directed broadcast address(es), besides 255.255.255.255 (e.g. `ipv4.isBroadcast`). */
  isBroadcast?: (address: number) => boolean;
  /** Answer echo requests sent to a broadcast address. Default false (Linux icmp_echo_ignore_broadcasts). */
  answerBroadcastEcho?: boolean;
  /** ICMP errors per second we may send. Default 1000 (Linux icmp_msgs_per_sec). */
  errorRate?: number;
  /** Largest burst of errors. Default 50 (Linux icmp_msgs_burst). */
  errorBurst?: number;
  /**
   * Bytes of the offending datagram an error quotes: as much as keeps the error within 576 bytes
   * (RFC 1812 §4.3.2.3, as Linux does), at least the header and 8 bytes (RFC 792). Default 548.
   */
  quoteLength?: number;
  /** The ping client's identifier. Default random. */
  pingIdentifier?: number;
  /** Most echo requests waiting for a reply. Default 256. */
  maxPings?: number;
}

/** What an {@link IcmpEngine} asks of its owner (the glue). Arguments are lent for the call. */
export interface IcmpEvents {
  /** Send `message` (an ICMP message) in an IPv4 datagram of protocol 1 to `destination`. */
  send(destination: number, message: Uint8Array): void;
  /** A received error about a datagram we sent: find the connection by protocol, addresses and ports. */
  error?(report: IcmpErrorReport): void;
  /** A reply to one of our pings. */
  pingReply?(reply: PingReply): void;
  /** A ping that got no reply in time. */
  pingTimeout?(timeout: PingTimeout): void;
}

/** Why {@link IcmpEngine.destinationUnreachable} did or did not send an error. */
export type IcmpErrorDecision =
  /** Sent. */
  | "sent"
  /** RFC 1122 §3.2.2: never in response to an ICMP error. */
  | "icmp-error"
  /** … nor to a datagram sent to an IP broadcast or multicast address, or as a link-layer broadcast. */
  | "broadcast"
  /** … nor to a non-initial fragment. */
  | "fragment"
  /** … nor to a datagram whose source is not a single host (0, loopback, broadcast, multicast, class E). */
  | "bad-source"
  /** RFC 1812 §4.3.2.8: the rate limit held it back. */
  | "rate-limited"
  /** The datagram to quote is not a readable IPv4 header. */
  | "malformed";

/** Counters of an {@link IcmpEngine}. */
export interface IcmpStats {
  /** ICMP messages given to `receive`. */
  received: number;
  /** … truncated or with a bad checksum. */
  malformed: number;
  echoRequests: number;
  /** Echo replies we sent. */
  echoReplies: number;
  /** Echo requests to a broadcast address, ignored. */
  echoBroadcastIgnored: number;
  /** Errors received (types 3, 11, 12). */
  errorsReceived: number;
  /** … handed to `error`. */
  errorsDelivered: number;
  /** … whose quote was unreadable. */
  badQuote: number;
  /** … quoting a datagram that was not ours. */
  foreignQuote: number;
  /** Source quench, ignored (RFC 6633). */
  sourceQuench: number;
  /** Other types (redirects, timestamps, router discovery…), ignored. */
  ignored: number;
  unreachableSent: number;
  timeExceededSent: number;
  /** Errors not sent, by reason (RFC 1122 §3.2.2, rate limit). */
  suppressedIcmpError: number;
  suppressedBroadcast: number;
  suppressedFragment: number;
  suppressedSource: number;
  rateLimited: number;
  pingsSent: number;
  pingReplies: number;
  /** Echo replies for our identifier that matched no outstanding request. */
  pingUnmatched: number;
  /** Echo replies whose data differed from what we sent. */
  pingCorrupt: number;
  pingTimeouts: number;
}

/** Longest ICMP message we build: an echo reply to the largest datagram. */
const MAX_MESSAGE = 65535 - 20;

/**
 * ICMP for an IPv4 host (RFC 792, RFC 1122 §3.2.2), sans-IO: an echo responder, a ping client,
 * destination unreachable and time exceeded where RFC 1122 allows them (rate-limited by a token
 * bucket driven by `now`), and received errors turned into {@link IcmpErrorReport}s for the
 * transport. No clock, no timers: `deadline()` says when `poll(now)` must run (ping timeouts).
 */
export class IcmpEngine {
  readonly stats: IcmpStats = {
    received: 0,
    malformed: 0,
    echoRequests: 0,
    echoReplies: 0,
    echoBroadcastIgnored: 0,
    errorsReceived: 0,
    errorsDelivered: 0,
    badQuote: 0,
    foreignQuote: 0,
    sourceQuench: 0,
    ignored: 0,
    unreachableSent: 0,
    timeExceededSent: 0,
    suppressedIcmpError: 0,
    suppressedBroadcast: 0,
    suppressedFragment: 0,
    suppressedSource: 0,
    rateLimited: 0,
    pingsSent: 0,
    pingReplies: 0,
    pingUnmatched: 0,
    pingCorrupt: 0,
    pingTimeouts: 0,
  };
  /** The ping client's bookkeeping. */
  readonly pings: PingClient;
  private readonly address: number;
  private readonly isOurBroadcast: (a: number) => boolean;
  private readonly answerBroadcastEcho: boolean;
  private readonly limiter: TokenBucket;
  private readonly quoteLength: number;
  /** Reused for every message we send; grown (up to 64 KiB) for large echo replies. */
  private out = new Uint8Array(576);
  private readonly report = emptyIcmpErrorReport();
  private readonly onPingTimeout: (t: PingTimeout) => void;

  constructor(
    config: IcmpConfig,
    private readonly events: IcmpEvents,
  ) {
    this.address = config.address;
    this.isOurBroadcast = config.isBroadcast ?? (() => false);
    this.answerBroadcastEcho = config.answerBroadcastEcho ?? false;
    this.limiter = new TokenBucket(config.errorRate ?? 1000, config.errorBurst ?? 50);
    this.quoteLength = Math.max(28, config.quoteLength ?? 548);
    this.pings = new PingClient((config.pingIdentifier ?? randomU32()) & 0xffff, config.maxPings ?? 256);
    this.onPingTimeout = (t) => {
      this.stats.pingTimeouts++;
      this.events.pingTimeout?.(t);
    };
  }

  /** When {@link poll} must run next (the earliest ping timeout), or undefined. */
  deadline(): number | undefined {
    return this.pings.deadline();
  }

  /** Reports pings whose time is up. */
  poll(now: number): void {
    this.pings.expire(now, this.onPingTimeout);
  }

  /**
   * Sends an echo request with `size` bytes of data to `destination`; the reply (with its RTT from
   * these `now` values) or the timeout comes through the events. Returns the sequence number, or
   * -1 when `maxPings` are already outstanding.
   */
  ping(destination: number, now: number, size = 56, timeoutMs = 1000): number {
    const n = Math.max(0, Math.min(size, MAX_MESSAGE - 8));
    const out = this.buffer(8 + n);
    const sequence = this.pings.start(destination, n, now, timeoutMs, out.subarray(8, 8 + n));
    if (sequence < 0) return -1;
    writeIcmpHeader({ type: IcmpType.EchoRequest, identifier: this.pings.identifier, sequence }, out, 0, n);
    this.stats.pingsSent++;
    this.events.send(destination, out.subarray(0, 8 + n));
    return sequence;
  }

  /**
   * Handles a received ICMP message: `ip` is its datagram (validated and reassembled by the IPv4
   * layer), `broadcast` whether it was sent to a broadcast address. Echo requests are answered,
   * echo replies matched to pings, errors reported through `error`; the rest is counted.
   */
  receive(ip: Ipv4View, broadcast: boolean, now: number): void {
    this.stats.received++;
    const icmp = decodeIcmp(ip.payload);
    if (icmp instanceof DecodeError) {
      this.stats.malformed++;
      return;
    }
    switch (icmp.type) {
      case IcmpType.EchoRequest: {
        this.stats.echoRequests++;
        // RFC 1122 §3.2.2.6: an echo request to a broadcast address MAY be silently discarded.
        if (broadcast && !this.answerBroadcastEcho) {
          this.stats.echoBroadcastIgnored++;
          return;
        }
        // RFC 792: the reply swaps the addresses and echoes identifier, sequence and data.
        const data = icmp.data;
        const out = this.buffer(8 + data.length);
        out.set(data, 8);
        writeIcmpHeader({ type: IcmpType.EchoReply, rest: icmp.rest }, out, 0, data.length);
        this.stats.echoReplies++;
        this.events.send(ip.source, out.subarray(0, 8 + data.length));
        return;
      }
      case IcmpType.EchoReply: {
        const r = this.pings.match(icmp, ip.source, ip.ttl, now);
        if (r === undefined) this.stats.pingUnmatched++;
        else if (r === "corrupt") this.stats.pingCorrupt++;
        else {
          this.stats.pingReplies++;
          this.events.pingReply?.(r);
        }
        return;
      }
      case IcmpType.DestinationUnreachable:
      case IcmpType.TimeExceeded:
      case IcmpType.ParameterProblem: {
        this.stats.errorsReceived++;
        const report = this.report;
        if (readIcmpError(icmp, ip.source, report) !== undefined) {
          this.stats.badQuote++;
          return;
        }
        // An error must concern a datagram we sent (RFC 5927 §4.1: check what you can).
        if (report.source !== this.address) {
          this.stats.foreignQuote++;
          return;
        }
        this.stats.errorsDelivered++;
        this.events.error?.(report);
        return;
      }
      case IcmpType.SourceQuench:
        this.stats.sourceQuench++;
        return;
      default:
        this.stats.ignored++;
    }
  }

  /**
   * Answers a datagram we cannot deliver with Destination Unreachable (`code`: usually
   * `UnreachableCode.Protocol` or `UnreachableCode.Port`, RFC 1122 §3.2.2.1), quoting it — unless
   * RFC 1122 §3.2.2 forbids it or the rate limit holds it back. `linkBroadcast` is true when the
   * frame was a link-layer broadcast or the datagram went to a broadcast address.
   */
  destinationUnreachable(ip: Ipv4View, code: number, linkBroadcast: boolean, now: number): IcmpErrorDecision {
    const d = this.mayAnswer(ip, linkBroadcast, now);
    if (d !== "sent") return d;
    this.sendError(IcmpType.DestinationUnreachable, code, ip.bytes, ip.source);
    this.stats.unreachableSent++;
    return "sent";
  }

  /**
   * Sends Time Exceeded, code 1 (fragment reassembly time exceeded), for a datagram whose
   * reassembly timed out; `firstFragment` is its first fragment (RFC 1122 §3.3.2), as the IPv4
   * layer reports it. The same rules as {@link destinationUnreachable} apply.
   */
  reassemblyTimeExceeded(firstFragment: Uint8Array, now: number): IcmpErrorDecision {
    const first = decodeIpv4(firstFragment, false);
    if (first instanceof DecodeError) return "malformed";
    const d = this.mayAnswer(first, false, now);
    if (d !== "sent") return d;
    this.sendError(IcmpType.TimeExceeded, TimeExceededCode.FragmentReassembly, first.bytes, first.source);
    this.stats.timeExceededSent++;
    return "sent";
  }

  /** RFC 1122 §3.2.2's list of datagrams an error must never answer, then the rate limit. */
  private mayAnswer(ip: Ipv4View, linkBroadcast: boolean, now: number): IcmpErrorDecision {
    if (ip.protocol === 1) {
      const p = ip.payload;
      if (p.length === 0 || isIcmpError(p[0]!)) {
        this.stats.suppressedIcmpError++;
        return "icmp-error";
      }
    }
    const dst = ip.destination;
    if (linkBroadcast || dst === 0xffffffff || this.isOurBroadcast(dst) || isMulticastIpv4(dst)) {
      this.stats.suppressedBroadcast++;
      return "broadcast";
    }
    if (ip.fragmentOffset !== 0) {
      this.stats.suppressedFragment++;
      return "fragment";
    }
    const src = ip.source;
    if (src === 0 || isLoopbackIpv4(src) || src >>> 28 >= 0xe || this.isOurBroadcast(src)) {
      this.stats.suppressedSource++;
      return "bad-source";
    }
    if (!this.limiter.take(now)) {
      this.stats.rateLimited++;
      return "rate-limited";
    }
    return "sent";
  }

  private sendError(type: number, code: number, datagram: Uint8Array, to: number): void {
    const n = Math.min(datagram.length, this.quoteLength);
    const out = this.buffer(8 + n);
    out.set(datagram.subarray(0, n), 8);
    writeIcmpHeader({ type, code }, out, 0, n);
    this.events.send(to, out.subarray(0, 8 + n));
  }

  private buffer(length: number): Uint8Array {
    if (this.out.length < length)
      this.out = new Uint8Array(Math.min(MAX_MESSAGE, Math.max(length, 2 * this.out.length)));
    return this.out;
  }
}
