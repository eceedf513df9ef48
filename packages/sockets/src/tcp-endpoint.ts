import type { HeapEntry } from "@userstack/link";
import type { TcpConnection, TcpListener, TcpStatus } from "@userstack/tcp";
import type { SocketErrorCode } from "./errors.js";
import type { Endpoint, EndpointOwner, ListenerHandle, ListenerOwner } from "./socket-host.js";
import type { Timed } from "./timer-queue.js";

/** The operations an endpoint needs from its host (the stack's TCP layer). */
export interface EndpointHost {
  now(): number;
  /** Queues `t` for dispatch in the next flush (scheduled soon when outside a batch). */
  kick(t: TcpEndpoint | ListenerEndpoint): void;
}

/**
 * A connection as the stack tracks it: the engine's {@link TcpConnection} plus its place in the
 * timer queue, the dirty list and the face that owns it.
 */
export class TcpEndpoint implements Timed, Endpoint {
  timerEntry: HeapEntry<Timed> | undefined = undefined;
  /** True while queued for the next flush. */
  dirty = false;
  /** Events not yet delivered to the owner. */
  pendingEvents = 0;
  /** False once dropped from the stack's tables. */
  registered = true;
  owner: EndpointOwner | undefined = undefined;
  /** Last state logged, to report transitions. */
  lastState: string;

  constructor(
    readonly host: EndpointHost,
    readonly conn: TcpConnection,
  ) {
    this.lastState = conn.state;
  }

  onTimer(): void {
    this.host.kick(this);
  }

  get state(): string {
    return this.conn.state;
  }
  get error(): SocketErrorCode | undefined {
    return this.conn.error;
  }
  get localAddress(): number {
    return this.conn.localAddress;
  }
  get localPort(): number {
    return this.conn.localPort;
  }
  get remoteAddress(): number {
    return this.conn.remoteAddress;
  }
  get remotePort(): number {
    return this.conn.remotePort;
  }
  get readableLength(): number {
    return this.conn.readableLength;
  }
  get readEnded(): boolean {
    return this.conn.readEnded;
  }
  get sendQueued(): number {
    return this.conn.sendQueued;
  }

  setNoDelay(noDelay: boolean): void {
    this.conn.setNoDelay(noDelay, this.host.now());
    this.host.kick(this);
  }

  setKeepAlive(enable: boolean, idleMs: number): void {
    this.conn.setKeepAlive(enable, idleMs, this.host.now());
    this.host.kick(this);
  }

  status(): TcpStatus {
    return this.conn.status();
  }

  /** SEND: bytes accepted (0 when the buffer is full, -1 when the connection can no longer send). */
  write(data: Uint8Array): number {
    const n = this.conn.write(data, this.host.now());
    if (n > 0) this.host.kick(this);
    return n;
  }

  /** RECEIVE into `out`: count, 0 when nothing is readable, -1 at the end of the stream. */
  read(out: Uint8Array): number {
    const n = this.conn.read(out, this.host.now());
    if (this.conn.wantOutput) this.host.kick(this);
    return n;
  }

  shutdown(): void {
    this.conn.shutdown(this.host.now());
    this.host.kick(this);
  }

  close(): void {
    this.conn.close(this.host.now());
    this.host.kick(this);
  }

  abort(): void {
    this.conn.abort(this.host.now());
    this.host.kick(this);
  }
}

/** A listener as the stack tracks it. */
export class ListenerEndpoint implements Timed, ListenerHandle {
  timerEntry: HeapEntry<Timed> | undefined = undefined;
  dirty = false;
  pendingEvents = 0;
  owner: ListenerOwner | undefined = undefined;

  constructor(
    readonly host: EndpointHost,
    readonly listener: TcpListener,
  ) {}

  get localAddress(): number {
    return this.listener.localAddress;
  }
  get localPort(): number {
    return this.listener.localPort;
  }

  onTimer(): void {
    this.host.kick(this);
  }
}
