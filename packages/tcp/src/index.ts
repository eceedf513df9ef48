export { closedPortReply } from "./closed-port.js";
export {
  type CongestionControlName,
  configMss,
  DEFAULT_TCP_CONFIG,
  type LossRecoveryName,
  resolveTcpConfig,
  type TcpConfig,
} from "./config.js";
export type { CongestionControl, CongestionWindow } from "./congestion-control.js";
export { TcpConnection, TcpInput, type TcpState, type TcpStatus } from "./connection.js";
export { TcpEngine } from "./engine.js";
export { type TcpErrorCode, TcpEvent, type TcpIcmpError } from "./events.js";
export { TcpListener, type TcpListenerStats } from "./listener.js";
export { TcpSegmentOut, type TcpSink, writeTcpSegment } from "./segment-out.js";
export * as seq from "./seq.js";
export { SipKey, sipHash } from "./siphash.js";
export type { TcpDrops, TcpStats } from "./stats.js";
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
  decodeTcpAt,
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
