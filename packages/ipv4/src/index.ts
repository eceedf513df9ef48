export {
  broadcastAddress,
  formatCidr,
  formatIpv4,
  IPV4_ANY,
  IPV4_BROADCAST,
  type Ipv4Address,
  type Ipv4Cidr,
  inSubnet,
  isLoopbackIpv4,
  isMulticastIpv4,
  networkAddress,
  parseCidr,
  parseIpv4,
  prefixMask,
} from "./address.js";
export {
  foldSum,
  internetChecksum,
  jsSum,
  onesComplementSum,
  pseudoHeaderSum,
  sumWithPseudoHeader,
  updateChecksum,
  updateChecksum32,
} from "./checksum.js";
export { IpProtocol } from "./ip-protocol.js";
export {
  type Ipv4Events,
  Ipv4Interface,
  type Ipv4InterfaceConfig,
  type Ipv4SendOptions,
  type Ipv4SendResult,
  type Ipv4Stats,
} from "./ipv4-interface.js";
export {
  copiedIpv4Options,
  encodeIpv4Options,
  type Ipv4Option,
  Ipv4OptionType,
  ipv4OptionCopied,
  parseIpv4Options,
} from "./ipv4-options.js";
export {
  decodeIpv4,
  encodeIpv4,
  IPV4_DEFAULT_TTL,
  IPV4_HEADER_LENGTH,
  IPV4_MAX_HEADER_LENGTH,
  IPV4_MAX_OPTIONS_LENGTH,
  IPV4_MAX_TOTAL_LENGTH,
  type Ipv4Header,
  Ipv4View,
  ipv4BufferLength,
  ipv4HeaderLength,
  writeIpv4Header,
} from "./ipv4-packet.js";
export { IPV4_MIN_MTU, PathMtuCache } from "./path-mtu.js";
export { Reassembler, type ReassemblyConfig, type ReassemblyStats } from "./reassembly.js";
