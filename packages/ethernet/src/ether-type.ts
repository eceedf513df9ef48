/** EtherType values (IEEE registry) this project names. Unknown values stay plain numbers. */
export const EtherType = {
  Ipv4: 0x0800,
  Arp: 0x0806,
  /** IEEE 802.1Q customer VLAN tag (C-tag). */
  Vlan: 0x8100,
  Ipv6: 0x86dd,
  /** IEEE 802.1ad service VLAN tag (S-tag, "QinQ"). */
  QinQ: 0x88a8,
} as const;
export type EtherType = (typeof EtherType)[keyof typeof EtherType];

/** Values up to 1500 in the type/length field are IEEE 802.3 lengths, not EtherTypes (IEEE 802.3 §3.2.6). */
export const MAX_8023_LENGTH = 1500;
