export type { BsdSocket, SocketAddress, SocketOption } from "./bsd/bsd-socket.js";
export {
  type ConnectOptions,
  createStack,
  installSocketFaces,
  type SocketFaces,
  Stack,
  type StackOptions,
} from "./create-stack.js";
export { ArgumentError, SocketError, type SocketErrorCode } from "./errors.js";
export type { PingResult } from "./link-path.js";
export type { InterfaceInfo } from "./network-path.js";
export type { ServerListenOptions, ServerOptions, UserstackServer } from "./node/server.js";
export type { SocketConnectOptions, UserstackSocket, UserstackSocketOptions } from "./node/socket.js";
export type {
  Endpoint,
  EndpointOwner,
  ListenerHandle,
  ListenerOwner,
  ListenOptions,
  OpenOptions,
  SocketHost,
} from "./socket-host.js";
export type { ConnectionInfo, StackCounters, StackLogEvent } from "./stack.js";
export { type Timed, TimerQueue } from "./timer-queue.js";
export type { TcpStream, TcpStreamInfo } from "./web/tcp-stream.js";
