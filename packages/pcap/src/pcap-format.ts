// Classic libpcap file format (https://www.tcpdump.org/manpages/pcap-savefile.5.html,
// draft-ietf-opsawg-pcap): a 24-byte file header, then per packet a 16-byte record header and the
// captured bytes. Either byte order; microsecond or nanosecond timestamps by magic number.

/** Link-layer header types (https://www.tcpdump.org/linktypes.html) this project writes. */
export const LinkType = {
  /** LINKTYPE_ETHERNET: frames start with an Ethernet II header. */
  Ethernet: 1,
  /** LINKTYPE_RAW: frames are bare IPv4/IPv6 packets. */
  Raw: 101,
} as const;
export type LinkType = (typeof LinkType)[keyof typeof LinkType];

export const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOS = 0xa1b23c4d;
export const PCAP_FILE_HEADER_LENGTH = 24;
export const PCAP_RECORD_HEADER_LENGTH = 16;
/** Default snapshot length: whole packets, as tcpdump writes. */
export const DEFAULT_SNAPLEN = 262144;
