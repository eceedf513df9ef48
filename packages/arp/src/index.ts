export {
  ARP_HTYPE_ETHERNET,
  ARP_PACKET_LENGTH,
  ARP_PTYPE_IPV4,
  type ArpHeader,
  ArpOp,
  ArpView,
  arpBufferLength,
  decodeArp,
  encodeArp,
  writeArp,
} from "./arp-packet.js";
export {
  NeighborCache,
  type NeighborConfig,
  type NeighborEntry,
  type NeighborEvents,
  type NeighborState,
  type NeighborStats,
} from "./neighbor-cache.js";
