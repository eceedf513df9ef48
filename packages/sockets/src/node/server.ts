import { EventEmitter } from "node:events";
import { formatIpv4 } from "@userstack/ipv4";
import type { TcpConfig } from "@userstack/tcp";
import { ArgumentError } from "../errors.js";
import { addressArgument, portArgument } from "../parse.js";
import type {
  ListenerHandle as ListenerEndpoint,
  ListenerOwner,
  SocketHost as Stack,
} from "../socket-host.js";
import { UserstackSocket } from "./socket.js";

/** Options of {@link UserstackServer}, as `net.createServer` takes them. */
export interface ServerOptions {
  /** Keep accepted sockets writable after the peer's FIN. Default false. */
  allowHalfOpen?: boolean;
  /** Disable Nagle on accepted sockets. */
  noDelay?: boolean;
  /** Enable keepalive on accepted sockets. */
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** TCP settings of accepted connections. */
  tcp?: Partial<TcpConfig>;
}

/** Options of {@link UserstackServer.listen}. */
export interface ServerListenOptions {
  port?: number | string;
  host?: string;
  backlog?: number;
}

/**
 * A TCP server of a userstack stack that behaves like `net.Server`: `listen()`, `'listening'`,
 * `'connection'` (with a {@link UserstackSocket}), `'close'` once closed and every connection has
 * ended, `'error'` (EADDRINUSE…), `address()`, `getConnections()`, `maxConnections`.
 */
export class UserstackServer extends EventEmitter implements ListenerOwner {
  /** Refuse (reset) connections beyond this many; undefined for no limit. */
  maxConnections: number | undefined = undefined;
  private le: ListenerEndpoint | undefined;
  private readonly sockets = new Set<UserstackSocket>();
  private closing = false;

  constructor(
    private readonly stack: Stack,
    private readonly options: ServerOptions = {},
    connectionListener?: (socket: UserstackSocket) => void,
  ) {
    super();
    if (connectionListener) this.on("connection", connectionListener);
  }

  /** True while listening. */
  get listening(): boolean {
    return this.le !== undefined;
  }

  /**
   * Starts listening: `listen(port?, host?, backlog?, cb?)` or `listen({ port, host, backlog }, cb?)`.
   * Port 0 or none picks a free ephemeral port. Errors (EADDRINUSE) arrive as an 'error' event.
   */
  listen(options: ServerListenOptions, cb?: () => void): this;
  listen(
    port?: number | string,
    host?: string | (() => void),
    backlog?: number | (() => void),
    cb?: () => void,
  ): this;
  listen(
    a?: number | string | ServerListenOptions | (() => void),
    b?: string | number | (() => void),
    c?: number | (() => void),
    d?: () => void,
  ): this {
    const args = [a, b, c, d];
    const cb = args.find((x) => typeof x === "function") as (() => void) | undefined;
    const o: ServerListenOptions =
      typeof a === "object" && a !== null ? a : { port: a as number | string | undefined };
    if (typeof a !== "object") {
      if (typeof b === "string") o.host = b;
      if (typeof b === "number") o.backlog = b;
      if (typeof c === "number") o.backlog = c;
    }
    if (this.le !== undefined)
      throw new ArgumentError("listen(): the server is listening already; close() it first.");
    if (cb) this.once("listening", cb);
    try {
      const port = portArgument(o.port ?? 0, "listen(): port", true);
      const address =
        o.host === undefined || o.host === "0.0.0.0" ? 0 : addressArgument(o.host, "listen(): host", 0);
      const le = this.stack.listen({ port, address, backlog: o.backlog, tcp: this.acceptedConfig() });
      this.le = le;
      le.owner = this;
      this.closing = false;
      // A remote stack (the daemon's client library) answers later: 'listening' or 'error' then.
      if (le.ready === undefined) process.nextTick(() => this.emit("listening"));
      else
        le.ready.then(
          () => this.le === le && this.emit("listening"),
          (e) => {
            if (this.le !== le) return;
            le.owner = undefined;
            this.le = undefined;
            this.emit("error", e);
          },
        );
    } catch (e) {
      if (e instanceof ArgumentError) throw e;
      process.nextTick(() => this.emit("error", e));
    }
    return this;
  }

  private acceptedConfig(): Partial<TcpConfig> {
    const t: Partial<TcpConfig> = { ...this.options.tcp };
    if (this.options.noDelay !== undefined) t.noDelay = this.options.noDelay;
    if (this.options.keepAlive) {
      t.keepAlive = true;
      if (this.options.keepAliveInitialDelay) t.keepAliveIdle = this.options.keepAliveInitialDelay;
    }
    return t;
  }

  /** @internal */
  onAcceptable(): void {
    const le = this.le;
    if (le === undefined) return;
    for (let ep = this.stack.accept(le); ep !== undefined; ep = this.stack.accept(le)) {
      if (this.maxConnections !== undefined && this.sockets.size >= this.maxConnections) {
        ep.abort();
        this.emit("drop", {
          remoteAddress: formatIpv4(ep.remoteAddress),
          remotePort: ep.remotePort,
        });
        continue;
      }
      const socket = new UserstackSocket(this.stack, {
        endpoint: ep,
        allowHalfOpen: this.options.allowHalfOpen,
      });
      this.sockets.add(socket);
      socket.once("close", () => {
        this.sockets.delete(socket);
        this.maybeClosed();
      });
      this.emit("connection", socket);
    }
  }

  /** @internal The listener stopped after listening (a remote stack's daemon went away). */
  onListenerError(error: Error): void {
    if (this.le === undefined) return;
    this.le.owner = undefined;
    this.le = undefined;
    this.closing = true;
    this.emit("error", error);
    this.maybeClosed();
  }

  /** `{ address, family: "IPv4", port }` while listening, else null. */
  address(): { address: string; family: string; port: number } | null {
    const l = this.le;
    if (l === undefined) return null;
    return {
      address: formatIpv4(l.localAddress === 0 ? 0 : l.localAddress),
      family: "IPv4",
      port: l.localPort,
    };
  }

  /** Stops accepting; 'close' follows once every accepted connection has ended. */
  close(cb?: (err?: Error) => void): this {
    if (this.le === undefined) {
      if (cb)
        process.nextTick(() =>
          cb(Object.assign(new Error("Server is not running."), { code: "ERR_SERVER_NOT_RUNNING" })),
        );
      return this;
    }
    if (cb) this.once("close", () => cb());
    this.stack.unlisten(this.le);
    this.le.owner = undefined;
    this.le = undefined;
    this.closing = true;
    this.maybeClosed();
    return this;
  }

  private maybeClosed(): void {
    if (this.closing && this.sockets.size === 0) {
      this.closing = false;
      process.nextTick(() => this.emit("close"));
    }
  }

  /** Calls back with the number of open connections. */
  getConnections(cb: (err: Error | null, count: number) => void): this {
    const n = this.sockets.size;
    process.nextTick(() => cb(null, n));
    return this;
  }

  /** No-ops, as for {@link UserstackSocket.ref}. */
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.listening) return;
    await new Promise<void>((resolve) => this.close(() => resolve()));
  }
}
