export {
  type IcmpConfig,
  IcmpEngine,
  type IcmpErrorDecision,
  type IcmpEvents,
  type IcmpStats,
} from "./icmp-engine.js";
export {
  emptyIcmpErrorReport,
  type IcmpErrno,
  type IcmpErrorReport,
  mtuPlateauBelow,
  readIcmpError,
} from "./icmp-error-report.js";
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
export { PingClient, type PingReply, type PingTimeout } from "./ping-client.js";
export { TokenBucket } from "./token-bucket.js";
