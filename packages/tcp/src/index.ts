export * as seq from "./seq.js";
export {
  listTcpOptions,
  MAX_SACK_BLOCKS,
  TCP_OPTION_LENGTH,
  type TcpOption,
  TcpOptionKind,
  tcpOptionLength,
  tcpOptionsLength,
  writeTcpOptions,
} from "./tcp-option.js";
export {
  decodeTcp,
  encodeTcp,
  TCP_HEADER_LENGTH,
  TCP_MAX_HEADER_LENGTH,
  TCP_PROTOCOL,
  TcpFlag,
  type TcpHeader,
  TcpView,
  tcpChecksum,
  tcpHeaderLength,
  verifyTcpChecksum,
  writeTcpChecksum,
  writeTcpHeader,
} from "./tcp-segment.js";
