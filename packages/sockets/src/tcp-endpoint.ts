import type { HeapEntry } from "@userstack/link";
import type { TcpConnection, TcpListener } from "@userstack/tcp";
import type { Timed } from "./timer-queue.js";

/** What a socket face (Node, web, BSD) implements to hear about its connection. */
export interface EndpointOwner {
  /** `events` is a {@link TcpEvent} bitmask; called between batches, never inside the engine. */
  onTcpEvents(events: number): void;
}

/** What a listening face implements. */
export interface ListenerOwner {
  /** One or more connections can be accepted. */
  onAcceptable(): void;
}

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
export class TcpEndpoint implements Timed {
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
export class ListenerEndpoint implements Timed {
  timerEntry: HeapEntry<Timed> | undefined = undefined;
  dirty = false;
  pendingEvents = 0;
  owner: ListenerOwner | undefined = undefined;

  constructor(
    readonly host: EndpointHost,
    readonly listener: TcpListener,
  ) {}

  onTimer(): void {
    this.host.kick(this);
  }
}
