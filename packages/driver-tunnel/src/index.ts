export {
  CHITCP_HEADER_LENGTH,
  ChitcpProtocol,
  chitcpLength,
  chitcpProtocol,
  decodeHello,
  encodeHello,
  HELLO_LENGTH,
  writeChitcpHeader,
} from "./chitcp-header.js";
export { type FrameHandler, FrameReader, type StreamFault } from "./frame-reader.js";
export {
  type CapturedNetworkLayer,
  NetworkCapture,
  withNetworkCapture,
} from "./network-capture.js";
export { createTunnel, Tunnel, type TunnelPeerInfo, type TunnelStats } from "./tunnel.js";
export {
  CHITCP_MAX_SEGMENT,
  CHITCP_PATH_MTU,
  DEFAULT_TUNNEL_PORT,
  type TunnelLogCode,
  type TunnelLogEvent,
  type TunnelMode,
  type TunnelOptions,
  type TunnelRoute,
  USERSTACK_MAX_SEGMENT,
} from "./tunnel-options.js";
