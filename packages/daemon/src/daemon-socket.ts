import type { Endpoint, EndpointOwner, ListenerHandle, ListenerOwner } from "@userstack/sockets";
import { TcpEvent } from "@userstack/tcp";
import { put16, put32 } from "@userstack/wire";
import type { MessageWriter } from "./message-writer.js";
import { errorCode, F, MAX_DATA, MessageType, stateCode } from "./wire-format.js";

/** What a daemon-side socket needs from its session. */
export interface SocketSession {
  readonly writer: MessageWriter;
  /** True while the transport has too much unsent: Data waits (memory stays bounded). */
  readonly congested: boolean;
  /** The handle is finished: forget it. */
  forget(handle: number): void;
  /** Counts a client write the connection did not take in one go (should never happen). */
  countOverrun(): void;
}

/** A client cannot make the daemon owe it more than this per socket, whatever it grants. */
const MAX_READ_CREDIT = 64 * 1024 * 1024;

/** Forwarded to the client as they happen; Readable and Writable the client derives itself. */
const FORWARDED = TcpEvent.Established | TcpEvent.PeerFin | TcpEvent.Closed | TcpEvent.Error;

/**
 * The daemon's side of one client socket: the owner of a stack {@link Endpoint} that mirrors it to
 * the client under two credits.
 *
 * - Receive: the daemon reads from the connection only as much as the client's read credit allows
 *   and pushes it as Data. A client that stops reading stops the reads here, the connection's
 *   receive buffer fills, and TCP's window closes — backpressure reaches the peer.
 * - Send: the client writes at most the send credit it was granted, which is never more than the
 *   free space of the connection's send buffer; the daemon grants more as TCP frees space (acked
 *   data). So a Write always fits, and the daemon buffers nothing beyond TCP's own buffer.
 *
 * Events follow the data they concern: PeerFin and Closed are forwarded only once every byte
 * before them was pushed, so the client sees the end of the stream after the last byte.
 */
export class DaemonSocket implements EndpointOwner {
  /** Bytes the client lets us push. */
  readCredit: number;
  /** Send credit granted in total, and Write bytes received in total. */
  granted: number;
  received = 0;
  private pending = 0;
  private reported: string;
  private finForwarded = false;
  private closing: "close" | "abort" | undefined;
  private shutdownAsked = false;
  /** Bytes of a Write the connection did not take (a safety net; see {@link SocketSession.countOverrun}). */
  private overflow: Uint8Array[] = [];
  private done = false;

  constructor(
    private readonly session: SocketSession,
    readonly handle: number,
    readonly ep: Endpoint,
    private readonly sendBufferSize: number,
    readWindow: number,
  ) {
    this.readCredit = Math.min(readWindow, MAX_READ_CREDIT);
    // The client starts with the whole (empty) send buffer as its credit.
    this.granted = sendBufferSize - ep.sendQueued;
    this.reported = ep.state;
    ep.owner = this;
  }

  /** @internal */
  onTcpEvents(events: number): void {
    this.pending |= events;
    this.service();
  }

  /** A Write from the client (already checked against the credit). */
  write(data: Uint8Array): void {
    this.received += data.length;
    if (this.overflow.length > 0) {
      this.overflow.push(data.slice());
      return;
    }
    const n = this.ep.write(data);
    if (n >= 0 && n < data.length) {
      this.session.countOverrun();
      this.overflow.push(data.slice(n));
    }
  }

  addReadCredit(n: number): void {
    this.readCredit = Math.min(this.readCredit + n, MAX_READ_CREDIT);
    this.service();
  }

  shutdown(): void {
    this.shutdownAsked = true;
    if (this.overflow.length === 0) this.ep.shutdown();
    this.service();
  }

  /** Close (FIN after the data) or abort (RST); the client is done with the handle. */
  finish(how: "close" | "abort"): void {
    this.closing = how;
    if (how === "abort" || this.overflow.length === 0) this.end();
  }

  /**
   * The client went away: reset the connection (a dead process's sockets are released). True when
   * a live connection was reset. One in TIME-WAIT is left to end on its own, as the kernel keeps a
   * dead process's TIME-WAIT sockets (RFC 9293 §3.6: it guards against old duplicates).
   */
  release(): boolean {
    if (this.done) return false;
    const state = this.ep.state;
    if (state === "CLOSED" || state === "TIME-WAIT") {
      this.done = true;
      this.ep.owner = undefined;
      this.session.forget(this.handle);
      return false;
    }
    this.closing = "abort";
    this.end();
    return true;
  }

  /** Pushes data, forwards events and grants send credit, as far as each may go now. */
  service(): void {
    if (this.done) return;
    const ep = this.ep;
    const w = this.session.writer;
    this.drainOverflow();
    // 1. Data, up to the client's credit (and not while the transport is backed up).
    while (this.readCredit > 0 && !this.session.congested) {
      const avail = ep.readableLength;
      if (avail === 0) break;
      const room = w.dataRoom(MessageType.Data, this.handle, Math.min(avail, this.readCredit, MAX_DATA));
      const n = ep.read(room);
      w.commitData(Math.max(n, 0));
      if (n <= 0) break;
      this.readCredit -= n;
    }
    // 2. Events.
    let events = this.pending & FORWARDED;
    this.pending = 0;
    const drained = ep.readableLength === 0;
    if (events & TcpEvent.Error) events |= TcpEvent.Closed;
    else if (ep.state === "CLOSED" && !drained) events &= ~TcpEvent.Closed;
    else if (ep.state === "CLOSED") events |= TcpEvent.Closed;
    events &= ~TcpEvent.PeerFin;
    if (!this.finForwarded && drained && ep.readEnded) {
      this.finForwarded = true;
      events |= TcpEvent.PeerFin;
    }
    // Until the last byte is out, CLOSED is not reported: the client would end the stream early.
    const state = events & TcpEvent.Closed ? "CLOSED" : ep.state === "CLOSED" ? this.reported : ep.state;
    if (events !== 0 || state !== this.reported) {
      this.reported = state;
      const b = w.begin(MessageType.Event, F.event.end);
      const bytes = w.bytes;
      put32(bytes, b + F.event.handle, this.handle);
      bytes[b + F.event.events] = events;
      bytes[b + F.event.state] = stateCode(state);
      bytes[b + F.event.error] = errorCode(
        events & TcpEvent.Error || state === "CLOSED" ? ep.error : undefined,
      );
      put32(bytes, b + F.event.sendQueued, ep.sendQueued);
      put32(bytes, b + F.event.received, this.received);
    }
    if (events & TcpEvent.Closed) {
      this.done = true;
      ep.owner = undefined;
      this.session.forget(this.handle);
      return;
    }
    // 3. Send credit: the free space of the send buffer not yet promised.
    if (this.shutdownAsked) return;
    const free = this.sendBufferSize - ep.sendQueued;
    const grant = free - (this.granted - this.received);
    if (grant > 0 && grant >= Math.min(this.sendBufferSize >>> 2, 65536)) {
      this.granted += grant;
      const b = w.begin(MessageType.SendCredit, F.sendCredit.end);
      const bytes = w.bytes;
      put32(bytes, b + F.sendCredit.handle, this.handle);
      put32(bytes, b + F.sendCredit.credit, grant);
      put32(bytes, b + F.sendCredit.sendQueued, ep.sendQueued);
      put32(bytes, b + F.sendCredit.received, this.received);
    }
  }

  private drainOverflow(): void {
    if (this.overflow.length === 0) return;
    while (this.overflow.length > 0) {
      const head = this.overflow[0]!;
      const n = this.ep.write(head);
      if (n < 0) this.overflow.length = 0;
      else if (n < head.length) {
        this.overflow[0] = head.subarray(n);
        return;
      } else this.overflow.shift();
    }
    // What waited behind the overflow can happen now.
    if (this.shutdownAsked) this.ep.shutdown();
    if (this.closing !== undefined) this.end();
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    this.ep.owner = undefined;
    if (this.closing === "abort") this.ep.abort();
    else this.ep.close();
    this.session.forget(this.handle);
  }
}

/** What a daemon-side listener needs from its session. */
export interface ListenerSession extends SocketSession {
  /** A handle for an accepted connection (daemon-allocated). */
  nextAcceptedHandle(): number;
  adopt(socket: DaemonSocket): void;
}

/**
 * The daemon's side of a client's listening socket. Accepted connections are pushed to the client
 * (Accepted, then their data) up to its accept credit — the client's backlog; the rest wait in the
 * stack's accept queue, whose limit then applies as listen(2)'s backlog does.
 */
export class DaemonListener implements ListenerOwner {
  constructor(
    private readonly session: ListenerSession,
    readonly handle: number,
    readonly le: ListenerHandle,
    private credit: number,
    private readonly readWindow: number,
    private readonly sendBufferSize: number,
    private readonly accept: (le: ListenerHandle) => Endpoint | undefined,
  ) {
    le.owner = this;
  }

  /** @internal */
  onAcceptable(): void {
    this.drain();
  }

  addCredit(n: number): void {
    this.credit = Math.min(this.credit + n, 65536);
    this.drain();
  }

  drain(): void {
    while (this.credit > 0) {
      const ep = this.accept(this.le);
      if (ep === undefined) return;
      this.credit--;
      const handle = this.session.nextAcceptedHandle();
      const s = new DaemonSocket(this.session, handle, ep, this.sendBufferSize, this.readWindow);
      const w = this.session.writer;
      const b = w.begin(MessageType.Accepted, F.accepted.end);
      const bytes = w.bytes;
      put32(bytes, b + F.accepted.listener, this.handle);
      put32(bytes, b + F.accepted.handle, handle);
      put32(bytes, b + F.accepted.localAddress, ep.localAddress);
      put16(bytes, b + F.accepted.localPort, ep.localPort);
      put32(bytes, b + F.accepted.remoteAddress, ep.remoteAddress);
      put16(bytes, b + F.accepted.remotePort, ep.remotePort);
      bytes[b + F.accepted.state] = stateCode(ep.state);
      put32(bytes, b + F.accepted.sendCredit, s.granted);
      this.session.adopt(s);
      // Data (even a FIN) may have arrived before the accept: push it now.
      s.service();
    }
  }
}
