import type { TcpConfig, TcpStatus } from "@userstack/tcp";
import type { SocketErrorCode } from "./errors.js";
import type { Timed } from "./timer-queue.js";

/** What a socket face (Node, web, BSD) implements to hear about its connection. */
export interface EndpointOwner {
  /** `events` is a `TcpEvent` bitmask; called between batches, never inside the engine. */
  onTcpEvents(events: number): void;
}

/** What a listening face implements. */
export interface ListenerOwner {
  /** One or more connections can be accepted. */
  onAcceptable(): void;
  /**
   * The listener stopped for good after it was {@link ListenerHandle.ready} (a remote stack went
   * away: ECONNRESET); no more connections come. A local stack never calls it.
   */
  onListenerError?(error: Error): void;
}

/**
 * One TCP connection as the socket faces see it. The stack's own endpoints implement it over the
 * engine; the daemon's client library implements it over a message channel. Calls never block:
 * `write` takes what fits, `read` returns what is there, and the owner hears when more can be done.
 */
export interface Endpoint {
  owner: EndpointOwner | undefined;
  /** RFC 9293 state name ("ESTABLISHED", …). */
  readonly state: string;
  /** Why the connection failed, once it has. */
  readonly error: SocketErrorCode | undefined;
  readonly localAddress: number;
  readonly localPort: number;
  readonly remoteAddress: number;
  readonly remotePort: number;
  /** Bytes {@link read} would return now. */
  readonly readableLength: number;
  /** True once the peer's FIN arrived and every byte before it was read. */
  readonly readEnded: boolean;
  /** Bytes written and not yet acknowledged by the peer. */
  readonly sendQueued: number;
  /** SEND: bytes accepted (0 when the buffer is full, -1 when the connection can no longer send). */
  write(data: Uint8Array): number;
  /** RECEIVE into `out`: count, 0 when nothing is readable, -1 at the end of the stream. */
  read(out: Uint8Array): number;
  /** Half-close: FIN after the queued data. */
  shutdown(): void;
  /** CLOSE: FIN after the queued data (RST when unread data is left, as Linux does). */
  close(): void;
  /** ABORT: RST now. */
  abort(): void;
  /** TCP_NODELAY. */
  setNoDelay(noDelay: boolean): void;
  /** SO_KEEPALIVE, with the idle time before the first probe (ms, 0 for the default). */
  setKeepAlive(enable: boolean, idleMs: number): void;
  /** TCP_INFO: state and statistics. */
  status(): TcpStatus | undefined;
}

/** A listening port as the faces see it. */
export interface ListenerHandle {
  owner: ListenerOwner | undefined;
  readonly localAddress: number;
  readonly localPort: number;
  /**
   * Present when the host learns only later whether the listen worked (a stack in another process
   * or thread, reached through the daemon's client library): resolves once the port listens —
   * `localPort` is then final, also for port 0 — or rejects with a SocketError (EADDRINUSE…). A
   * local stack leaves it undefined: its `listen` throws instead.
   */
  readonly ready?: Promise<void>;
}

/** Where to connect. */
export interface OpenOptions {
  remoteAddress: number;
  remotePort: number;
  /** A fixed local port; by default an ephemeral one chosen at random (RFC 6056). */
  localPort?: number;
  tcp?: Partial<TcpConfig>;
}

/** A listening port to open. */
export interface ListenOptions {
  /** 0 picks a free ephemeral port. */
  port: number;
  /** Local address to accept on; 0 or undefined for any. */
  address?: number;
  /** Accept-queue length (listen(2)'s backlog). */
  backlog?: number;
  /** TCP settings of accepted connections. */
  tcp?: Partial<TcpConfig>;
}

/**
 * What the socket faces need from a stack: open, listen, accept, and a timer queue for their own
 * timeouts. A local stack implements it directly; the daemon client implements it remotely, so
 * the same Node, web and BSD faces serve both.
 */
export interface SocketHost {
  /** Our IPv4 address. */
  readonly localAddress: number;
  now(): number;
  /** Active open; throws a SocketError when it cannot even start (no route, port in use). */
  open(o: OpenOptions): Endpoint;
  /** Passive open; throws EADDRINUSE when the port is taken. */
  listen(o: ListenOptions): ListenerHandle;
  /** The next established connection of a listener, or undefined. */
  accept(l: ListenerHandle): Endpoint | undefined;
  /** Stops listening; connections not yet accepted are reset. */
  unlisten(l: ListenerHandle): void;
  /** Sets or clears a face's timer (an idle timeout). */
  schedule(t: Timed, at: number | undefined): void;
}
