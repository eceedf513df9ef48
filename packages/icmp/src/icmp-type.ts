/** ICMP message types (RFC 792, IANA "ICMP Type Numbers"). Unknown types stay plain numbers. */
export const IcmpType = {
  EchoReply: 0,
  DestinationUnreachable: 3,
  /** Deprecated by RFC 6633; never sent, ignored on receipt. */
  SourceQuench: 4,
  Redirect: 5,
  EchoRequest: 8,
  RouterAdvertisement: 9,
  RouterSolicitation: 10,
  TimeExceeded: 11,
  ParameterProblem: 12,
  Timestamp: 13,
  TimestampReply: 14,
} as const;
export type IcmpType = (typeof IcmpType)[keyof typeof IcmpType];

/** Destination Unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1). */
export const UnreachableCode = {
  Net: 0,
  Host: 1,
  Protocol: 2,
  Port: 3,
  /** Fragmentation needed and DF set; carries the next-hop MTU (RFC 1191 §4). */
  FragmentationNeeded: 4,
  SourceRouteFailed: 5,
  NetUnknown: 6,
  HostUnknown: 7,
  SourceHostIsolated: 8,
  NetProhibited: 9,
  HostProhibited: 10,
  NetTos: 11,
  HostTos: 12,
  CommunicationProhibited: 13,
  HostPrecedenceViolation: 14,
  PrecedenceCutoff: 15,
} as const;
export type UnreachableCode = (typeof UnreachableCode)[keyof typeof UnreachableCode];

/** Time Exceeded codes (RFC 792). */
export const TimeExceededCode = {
  /** Time to live exceeded in transit. */
  TtlExceeded: 0,
  /** Fragment reassembly time exceeded (RFC 1122 §3.3.2). */
  FragmentReassembly: 1,
} as const;
export type TimeExceededCode = (typeof TimeExceededCode)[keyof typeof TimeExceededCode];

/**
 * True for the ICMP error messages (RFC 1122 §3.2.2: Destination Unreachable, Source Quench,
 * Redirect, Time Exceeded, Parameter Problem): those quote a datagram and must never be answered
 * with another error.
 */
export function isIcmpError(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}
