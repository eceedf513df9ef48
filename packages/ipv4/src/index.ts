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
  onesComplementSum,
  pseudoHeaderSum,
  updateChecksum,
  updateChecksum32,
} from "./checksum.js";
