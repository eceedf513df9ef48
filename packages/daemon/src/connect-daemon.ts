import { connect } from "node:net";
import { connectError } from "./daemon-errors.js";
import { RemoteStack } from "./remote-stack.js";
import { defaultSocketPath } from "./socket-path.js";
import { SocketTransport } from "./socket-transport.js";

/** Options of {@link connectDaemon}. */
export interface ConnectDaemonOptions {
  /** Give up when the daemon does not answer Hello within this time (default 5000 ms). */
  timeoutMs?: number;
}

/**
 * Connects to the `userstackd` at `path` (default {@link defaultSocketPath}) and returns its stack,
 * with the same faces as a local one:
 *
 * ```ts
 * const stack = await connectDaemon("/tmp/us.sock");
 * const socket = stack.connect(80, "10.0.0.2", () => socket.end("GET / HTTP/1.0\r\n\r\n"));
 * ```
 *
 * Rejects with a {@link DaemonError} whose message says what to do when no daemon runs there, the
 * file is stale, or permission is denied.
 */
export async function connectDaemon(
  path: string = defaultSocketPath(),
  options: ConnectDaemonOptions = {},
): Promise<RemoteStack> {
  const socket = connect({ path });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => {
      socket.removeListener("error", reject);
      resolve();
    });
    socket.once("error", (e) => reject(connectError(path, e)));
  });
  socket.setNoDelay(true);
  return new RemoteStack(new SocketTransport(socket), `the daemon at ${path}`).handshake(
    options.timeoutMs ?? 5000,
  );
}
