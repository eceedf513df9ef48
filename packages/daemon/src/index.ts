export { type ConnectDaemonOptions, connectDaemon } from "./connect-daemon.js";
export { DaemonError } from "./daemon-errors.js";
export { Daemon, type DaemonOptions, startDaemon } from "./daemon-server.js";
export type { SessionInfo } from "./daemon-session.js";
export {
  DebugChannel,
  type DebugSegmentEvent,
  type DebugStateEvent,
  type DebugSubscribeOptions,
  type DebugSubscription,
  type DebugVerdict,
} from "./debug-channel.js";
export { type DriverSpec, openDriver } from "./driver-spec.js";
export { GatedLink } from "./gated-link.js";
export { GatedNetwork } from "./gated-network.js";
export { MemoryLoopback, type MemoryLoopbackStats } from "./memory-loopback.js";
export { MessageReader, type StreamFault } from "./message-reader.js";
export { MessageWriter } from "./message-writer.js";
export { PortTransport } from "./port-transport.js";
export type { RemoteEndpoint } from "./remote-endpoint.js";
export type { RemoteListener } from "./remote-listener.js";
export { RemoteStack, type RemoteStackInfo } from "./remote-stack.js";
export { type GateFilter, type GateFlow, type GateStats, SegmentGate } from "./segment-gate.js";
export { defaultSocketPath } from "./socket-path.js";
export { SocketTransport } from "./socket-transport.js";
export {
  type DaemonStats,
  type ServiceCounters,
  StackService,
  type StackServiceOptions,
} from "./stack-service.js";
export type { Transport, TransportReceiver } from "./transport.js";
export {
  DebugAction,
  DebugEvents,
  ERROR_CODES,
  F,
  GoodbyeReason,
  MAX_DATA,
  MAX_MESSAGE,
  MessageType,
  PROTOCOL_VERSION,
  STATES,
} from "./wire-format.js";
export {
  connectWorker,
  type StackWorkerOptions,
  startStackWorker,
  type WorkerStack,
} from "./worker-stack.js";
