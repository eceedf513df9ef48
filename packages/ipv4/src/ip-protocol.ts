/**
 * IP protocol numbers (IANA "Assigned Internet Protocol Numbers", RFC 791 "Protocol") this project
 * names. Unknown values stay plain numbers.
 */
export const IpProtocol = {
  Icmp: 1,
  Igmp: 2,
  Tcp: 6,
  Udp: 17,
  /** IPv6 encapsulated in IPv4 (RFC 4213). */
  Ipv6: 41,
  Gre: 47,
  Esp: 50,
  Ah: 51,
  Sctp: 132,
  UdpLite: 136,
} as const;
export type IpProtocol = (typeof IpProtocol)[keyof typeof IpProtocol];
