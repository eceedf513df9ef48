export {
  decodeIcmp,
  encodeIcmp,
  ICMP_HEADER_LENGTH,
  type IcmpHeader,
  IcmpView,
  writeIcmpHeader,
} from "./icmp-message.js";
export { decodeIcmpQuote, ICMP_QUOTED_TRANSPORT_BYTES } from "./icmp-quote.js";
export { IcmpType, isIcmpError, TimeExceededCode, UnreachableCode } from "./icmp-type.js";
