export type { BsdSocket, SocketAddress, SocketOption } from "./bsd/bsd-socket.js";
export { createStack, Stack, type StackOptions } from "./create-stack.js";
export { ArgumentError, SocketError, type SocketErrorCode } from "./errors.js";
export type { ServerListenOptions, ServerOptions, UserstackServer } from "./node/server.js";
export type { SocketConnectOptions, UserstackSocket, UserstackSocketOptions } from "./node/socket.js";
export type { ConnectionInfo, StackCounters, StackLogEvent } from "./stack.js";
export type { TcpStream, TcpStreamInfo } from "./web/tcp-stream.js";
