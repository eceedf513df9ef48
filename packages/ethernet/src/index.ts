export { EtherType, MAX_8023_LENGTH } from "./ether-type.js";
export {
  decodeEthernet,
  ETHERNET_HEADER_LENGTH,
  ETHERNET_MIN_FRAME,
  type EthernetHeader,
  EthernetView,
  encodeEthernet,
  ethernetHeaderLength,
  type VlanTag,
  writeEthernetHeader,
} from "./ethernet-frame.js";
export {
  BROADCAST_MAC,
  formatMac,
  isBroadcastMac,
  isMulticastMac,
  type MacAddress,
  macEqual,
  macToNumber,
  parseMac,
  randomMac,
  ZERO_MAC,
} from "./mac.js";
