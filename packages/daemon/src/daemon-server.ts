import { chmodSync, existsSync, lstatSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { dirname } from "node:path";
import { isMainThread } from "node:worker_threads";
import { DaemonError, listenError } from "./daemon-errors.js";
import { defaultSocketPath, MAX_SOCKET_PATH } from "./socket-path.js";
import { SocketTransport } from "./socket-transport.js";
import { type DaemonStats, StackService, type StackServiceOptions } from "./stack-service.js";

/** Options of {@link startDaemon}: where to listen, and the stack's link or network layer. */
export interface DaemonOptions extends StackServiceOptions {
  /** The UNIX socket path (default {@link defaultSocketPath}). */
  socketPath?: string;
  /** Permissions of the socket file (default 0o600: only this user's processes may connect). */
  mode?: number;
}

/**
 * A running daemon: one stack served to other processes on a UNIX socket. Made by
 * {@link startDaemon}; `userstackd` is this with a command line around it.
 */
export class Daemon {
  private closing: Promise<void> | undefined;

  /** @internal */
  constructor(
    /** The socket path clients connect to. */
    readonly path: string,
    readonly service: StackService,
    private readonly server: Server,
  ) {}

  /** The daemon's clients, its stack's connections and counters. */
  stats(): DaemonStats {
    return this.service.stats();
  }

  /**
   * Stops: says goodbye to every client (their sockets fail with ECONNRESET), closes the stack
   * (its connections are reset) and removes the socket file.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      await this.service.close();
      await closed;
      removeSocket(this.path);
    })();
    return this.closing;
  }
}

/**
 * Starts a daemon: builds the stack on the given link or network layer, then listens on a UNIX
 * socket (mode 0600 by default). A socket file left by a daemon that died is replaced; one a live
 * daemon answers on is not (the promise rejects with a {@link DaemonError} saying so).
 *
 * ```ts
 * const daemon = await startDaemon({ socketPath: "/tmp/us.sock", link: new MemoryLoopback(), ipv4: "10.0.0.1/24" });
 * // elsewhere: const stack = await connectDaemon("/tmp/us.sock");
 * ```
 */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const path = options.socketPath ?? defaultSocketPath();
  const mode = options.mode ?? 0o600;
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH)
    throw listenError(path, Object.assign(new Error("path too long"), { code: "ENAMETOOLONG" }));
  // libuv reports a missing directory as EACCES when binding a UNIX socket: look first.
  if (!existsSync(dirname(path)))
    throw listenError(path, Object.assign(new Error("no such directory"), { code: "ENOENT" }));
  await clearStale(path, options.log);
  const service = new StackService(options);
  const server = createServer({ allowHalfOpen: false }, (socket) => {
    service.serve(new SocketTransport(socket), "unix");
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      // The socket is created with the final permissions: no moment where others could connect.
      const umask = isMainThread ? process.umask(0o777 & ~mode) : undefined;
      try {
        server.listen({ path, exclusive: true }, () => resolve());
      } finally {
        if (umask !== undefined) process.umask(umask);
      }
    });
  } catch (e) {
    await service.close();
    throw listenError(path, e as Error & { code?: string });
  }
  chmodSync(path, mode);
  server.on("error", () => {}); // after listening, failures are per connection
  options.log?.(`userstackd: serving the stack at ${service.stats().address} (${service.driver}) on ${path}`);
  return new Daemon(path, service, server);
}

/** Removes a socket file no daemon answers on; refuses when one does, or when it is no socket. */
async function clearStale(path: string, log?: (line: string) => void): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw listenError(path, Object.assign(new Error("not a socket"), { code: "ENOTSOCK" }));
  const answered = await new Promise<boolean>((resolve) => {
    const probe = connect({ path });
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (answered) throw listenError(path, Object.assign(new Error("in use"), { code: "EADDRINUSE" }));
  try {
    unlinkSync(path);
    log?.(`userstackd: removed ${path}, left by a daemon that stopped`);
  } catch (e) {
    throw listenError(path, e as Error & { code?: string });
  }
}

function removeSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // gone already
  }
}

export { DaemonError };
