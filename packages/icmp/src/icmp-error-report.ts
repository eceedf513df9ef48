import { IpProtocol } from "@userstack/ipv4";
import { DecodeError, u16, u32 } from "@userstack/wire";
import type { IcmpView } from "./icmp-message.js";
import { decodeIcmpQuote } from "./icmp-quote.js";
import { IcmpType, UnreachableCode } from "./icmp-type.js";

/**
 * The error a socket sees for an ICMP error, with Node's codes: ECONNREFUSED (port unreachable),
 * EHOSTUNREACH (net, host and the other unreachable codes, time exceeded), ENOPROTOOPT (protocol
 * unreachable), EMSGSIZE (fragmentation needed: a new path MTU), EPROTO (parameter problem).
 */
export type IcmpErrno = "ECONNREFUSED" | "EHOSTUNREACH" | "ENOPROTOOPT" | "EMSGSIZE" | "EPROTO";

/**
 * What the glue needs to hand a received ICMP error to the connection it concerns (RFC 1122
 * §4.2.3.9, RFC 5927): the error, and the addresses, ports and TCP sequence number of the quoted
 * datagram — one we sent, so `source`/`sourcePort` are ours.
 */
export interface IcmpErrorReport {
  type: number;
  code: number;
  errno: IcmpErrno;
  /**
   * RFC 1122 §4.2.3.9 (codes as Linux's icmp_err_convert marks them fatal): a hard error aborts a
   * connection; a soft one is only reported if the connection times out.
   */
  hard: boolean;
  /**
   * For fragmentation needed: the next-hop MTU (RFC 1191 §4), or when the router sent 0 the
   * plateau below the quoted datagram's length (RFC 1191 §5), never below 68. Otherwise 0.
   */
  mtu: number;
  /** The host or router that sent the error. */
  reporter: number;
  /** The quoted datagram's protocol, source (us), destination. */
  protocol: number;
  source: number;
  destination: number;
  /** Ports of a quoted TCP or UDP header (0 otherwise). */
  sourcePort: number;
  destinationPort: number;
  /** The quoted TCP header's sequence number (0 for other protocols): RFC 5927 §4.1 checks it. */
  tcpSequence: number;
  /** The quoted bytes (IP header and at least 8 more), a view. */
  quote: Uint8Array;
}

/** RFC 1191 §7 table of common MTUs, for routers that do not say theirs. */
const PLATEAUS = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

/** The largest plateau below `length` (RFC 1191 §5), at least 68. */
export function mtuPlateauBelow(length: number): number {
  for (const p of PLATEAUS) if (p < length) return p;
  return 68;
}

/** Errno and hardness of a Destination Unreachable code (Linux icmp_err_convert, brief's mapping for net). */
function unreachable(code: number): [IcmpErrno, boolean] {
  switch (code) {
    case UnreachableCode.Port:
      return ["ECONNREFUSED", true];
    case UnreachableCode.Protocol:
      return ["ENOPROTOOPT", true];
    case UnreachableCode.FragmentationNeeded:
      return ["EMSGSIZE", false];
    // RFC 1122 §4.2.3.9: codes 0, 1 and 5 are soft; so are the TOS codes (11, 12) in Linux.
    case UnreachableCode.Net:
    case UnreachableCode.Host:
    case UnreachableCode.SourceRouteFailed:
    case UnreachableCode.NetTos:
    case UnreachableCode.HostTos:
      return ["EHOSTUNREACH", false];
    default:
      return ["EHOSTUNREACH", true];
  }
}

/**
 * Fills `report` from a received ICMP error (Destination Unreachable, Time Exceeded, Parameter
 * Problem) sent by `reporter`. Returns a {@link DecodeError} when the message is not such an error
 * or its quote is unreadable. Allocates nothing: the report object is the caller's to reuse.
 */
export function readIcmpError(
  icmp: IcmpView,
  reporter: number,
  report: IcmpErrorReport,
): DecodeError | undefined {
  const type = icmp.type;
  let errno: IcmpErrno;
  let hard: boolean;
  if (type === IcmpType.DestinationUnreachable) [errno, hard] = unreachable(icmp.code);
  else if (type === IcmpType.TimeExceeded) [errno, hard] = ["EHOSTUNREACH", false];
  else if (type === IcmpType.ParameterProblem) [errno, hard] = ["EPROTO", true];
  else return new DecodeError("icmp", "unsupported", 0, `type ${type} is not an error this reads`);
  const q = decodeIcmpQuote(icmp);
  if (q instanceof DecodeError) return q;
  const t = q.payload;
  const ports = q.protocol === IpProtocol.Tcp || q.protocol === IpProtocol.Udp;
  report.type = type;
  report.code = icmp.code;
  report.errno = errno;
  report.hard = hard;
  report.mtu =
    errno === "EMSGSIZE" ? (icmp.nextHopMtu >= 68 ? icmp.nextHopMtu : mtuPlateauBelow(q.totalLength)) : 0;
  report.reporter = reporter;
  report.protocol = q.protocol;
  report.source = q.source;
  report.destination = q.destination;
  report.sourcePort = ports ? u16(t, 0) : 0;
  report.destinationPort = ports ? u16(t, 2) : 0;
  report.tcpSequence = q.protocol === IpProtocol.Tcp ? u32(t, 4) : 0;
  report.quote = q.bytes;
  return undefined;
}

/** A blank report to reuse with {@link readIcmpError}. */
export function emptyIcmpErrorReport(): IcmpErrorReport {
  return {
    type: 0,
    code: 0,
    errno: "EHOSTUNREACH",
    hard: false,
    mtu: 0,
    reporter: 0,
    protocol: 0,
    source: 0,
    destination: 0,
    sourcePort: 0,
    destinationPort: 0,
    tcpSequence: 0,
    quote: new Uint8Array(0),
  };
}
