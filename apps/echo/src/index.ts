export { EchoMismatch, type EchoProgress, type EchoResult, echo } from "./echo-client.js";
export { EchoServer, type EchoServerLog } from "./echo-server.js";
export { formatBytes, parseSize, progressLine, progressPrinter } from "./progress.js";
