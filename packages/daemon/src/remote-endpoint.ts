import type { Endpoint, EndpointOwner, SocketErrorCode } from "@userstack/sockets";
import { TcpEvent, type TcpStatus } from "@userstack/tcp";
import type { MessageWriter } from "./message-writer.js";
import { MessageType, SocketOptionCode } from "./wire-format.js";

/** What a {@link RemoteEndpoint} needs from its {@link RemoteStack}. */
export interface RemoteHost {
  readonly writer: MessageWriter;
  /** Queues `events` for the endpoint's owner, delivered after the current batch of messages. */
  notify(ep: RemoteEndpoint, events: number): void;
  /** The handle is finished on both sides: forget it. */
  forget(handle: number): void;
  sendHandle(type: number, handle: number): void;
  sendCredit(type: number, handle: number, count: number): void;
  sendOption(handle: number, option: number, value: boolean, idleMs: number): void;
}

/** Where a {@link RemoteEndpoint} starts. */
export interface RemoteEndpointInit {
  state: string;
  localAddress: number;
  localPort: number;
  remoteAddress: number;
  remotePort: number;
  /** Send credit to start with: the free space of the connection's send buffer. */
  sendCredit: number;
  /** The read window granted to the daemon for this connection. */
  readWindow: number;
}

/** Connection states in which SEND is refused (RFC 9293 §3.10.2: "connection closing"). */
const NO_SEND = new Set(["CLOSED", "LISTEN", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSING", "LAST-ACK", "TIME-WAIT"]);

/**
 * A connection of a stack in another process or thread, as the socket faces see it: the
 * {@link Endpoint} contract implemented with two local mirrors of the daemon's buffers.
 *
 * - Receive: bytes the daemon pushed wait here (as views of the messages they came in); `read`
 *   copies them out and, every quarter window, gives the daemon that much read credit back. An
 *   application that stops reading stops the credit, so the daemon stops reading the connection and
 *   TCP's window closes.
 * - Send: `write` takes at most the send credit — the daemon's free send-buffer space — copies it
 *   into a Write message, and says 0 when there is none; the owner hears Writable when the daemon
 *   grants more as TCP frees space. So every call answers at once, as the local stack's does.
 */
export class RemoteEndpoint implements Endpoint {
  owner: EndpointOwner | undefined = undefined;
  state: string;
  error: SocketErrorCode | undefined = undefined;
  localAddress: number;
  localPort: number;
  readonly remoteAddress: number;
  readonly remotePort: number;
  /** @internal Events waiting for delivery to the owner. */
  pendingEvents = 0;
  private rx: (Uint8Array | undefined)[] = [];
  private rxHead = 0;
  private rxOffset = 0;
  private rxBytes = 0;
  private finSeen = false;
  private credit: number;
  private written = 0;
  private reportedQueued = 0;
  private reportedReceived = 0;
  private blocked = false;
  private consumed = 0;
  private readonly readWindow: number;
  /** True once this side may send nothing more for the handle (closed, aborted, or the daemon forgot it). */
  private released = false;
  private shut = false;
  private lastStatus: TcpStatus | undefined;
  private statusAsked = false;
  private readonly statusWaiters: ((s: TcpStatus | undefined) => void)[] = [];

  constructor(
    private readonly host: RemoteHost,
    readonly handle: number,
    init: RemoteEndpointInit,
  ) {
    this.state = init.state;
    this.localAddress = init.localAddress;
    this.localPort = init.localPort;
    this.remoteAddress = init.remoteAddress;
    this.remotePort = init.remotePort;
    this.credit = init.sendCredit;
    this.readWindow = init.readWindow;
  }

  get readableLength(): number {
    return this.rxBytes;
  }
  get readEnded(): boolean {
    return this.finSeen && this.rxBytes === 0;
  }
  get sendQueued(): number {
    return this.reportedQueued + (this.written - this.reportedReceived);
  }

  // ---- the Endpoint calls ----

  write(data: Uint8Array): number {
    if (this.released || this.shut || NO_SEND.has(this.state)) return -1;
    if (data.length === 0) return 0;
    const n = Math.min(data.length, this.credit);
    if (n < data.length) this.blocked = true;
    if (n === 0) return 0;
    const w = this.host.writer;
    for (let off = 0; off < n; ) {
      const room = w.dataRoom(MessageType.Write, this.handle, n - off);
      room.set(data.subarray(off, off + room.length));
      w.commitData(room.length);
      off += room.length;
    }
    this.credit -= n;
    this.written += n;
    return n;
  }

  read(out: Uint8Array): number {
    if (this.rxBytes === 0) return this.finSeen || this.state === "CLOSED" ? -1 : 0;
    let n = 0;
    while (n < out.length && this.rxBytes > 0) {
      const c = this.rx[this.rxHead]!;
      const k = Math.min(c.length - this.rxOffset, out.length - n);
      out.set(c.subarray(this.rxOffset, this.rxOffset + k), n);
      n += k;
      this.rxOffset += k;
      this.rxBytes -= k;
      if (this.rxOffset === c.length) {
        this.rx[this.rxHead++] = undefined;
        this.rxOffset = 0;
      }
    }
    if (this.rxHead === this.rx.length) {
      this.rx.length = 0;
      this.rxHead = 0;
    } else if (this.rxHead > 64 && this.rxHead * 2 > this.rx.length) {
      this.rx = this.rx.slice(this.rxHead);
      this.rxHead = 0;
    }
    // Credit back in quarter windows, as a receiver announces window updates (RFC 1122 §4.2.3.3):
    // the daemon keeps at least three quarters of the window in hand, so it never stalls on us.
    this.consumed += n;
    if (this.consumed >= this.readWindow >>> 2 && !this.released) {
      this.host.sendCredit(MessageType.ReadCredit, this.handle, this.consumed);
      this.consumed = 0;
    }
    return n;
  }

  shutdown(): void {
    if (this.released || this.shut) return;
    this.shut = true;
    this.host.sendHandle(MessageType.Shutdown, this.handle);
  }

  close(): void {
    if (this.released) return;
    // Unread data makes close() a reset, as Linux does; the daemon cannot see what waits here.
    this.release(this.rxBytes > 0 ? MessageType.Abort : MessageType.Close);
  }

  abort(): void {
    if (this.released) return;
    this.release(MessageType.Abort);
    this.state = "CLOSED";
  }

  setNoDelay(noDelay: boolean): void {
    if (!this.released) this.host.sendOption(this.handle, SocketOptionCode.NoDelay, noDelay, 0);
  }

  setKeepAlive(enable: boolean, idleMs: number): void {
    if (!this.released) this.host.sendOption(this.handle, SocketOptionCode.KeepAlive, enable, idleMs);
  }

  /**
   * TCP_INFO as last reported by the daemon (undefined until the first report); each call asks
   * for a fresh one, so the next call sees it. {@link fetchStatus} waits for it instead.
   */
  status(): TcpStatus | undefined {
    this.askStatus();
    return this.lastStatus;
  }

  /** TCP_INFO, fresh from the daemon (undefined once the connection is gone there). */
  fetchStatus(): Promise<TcpStatus | undefined> {
    if (this.released) return Promise.resolve(this.lastStatus);
    return new Promise((resolve) => {
      this.statusWaiters.push(resolve);
      this.askStatus();
    });
  }

  // ---- from the daemon ----

  /** @internal */
  onOpened(address: number, port: number): void {
    this.localAddress = address;
    this.localPort = port;
  }

  /** @internal `bytes` is a view of the received message, kept as it is (no copy). */
  onData(bytes: Uint8Array): void {
    if (this.released || bytes.length === 0) return;
    this.rx.push(bytes);
    this.rxBytes += bytes.length;
    this.host.notify(this, TcpEvent.Readable);
  }

  /** @internal */
  onSendCredit(credit: number, queued: number, received: number): void {
    this.credit += credit;
    this.report(queued, received);
    if (this.blocked) {
      this.blocked = false;
      this.host.notify(this, TcpEvent.Writable);
    }
  }

  /** @internal */
  onEvent(
    events: number,
    state: string,
    error: SocketErrorCode | undefined,
    queued: number,
    received: number,
  ): void {
    this.state = state;
    if (error !== undefined) this.error = error;
    this.report(queued, received);
    if (events & TcpEvent.PeerFin) this.finSeen = true;
    if (events & TcpEvent.Closed) this.gone();
    if (events !== 0) this.host.notify(this, events);
  }

  /** @internal Open or the transport failed: the connection is CLOSED with `code`. */
  fail(code: SocketErrorCode): void {
    if (this.state === "CLOSED" && this.released) return;
    this.state = "CLOSED";
    this.error ??= code;
    this.gone();
    this.host.notify(this, TcpEvent.Error | TcpEvent.Closed);
  }

  /** @internal */
  onStatus(status: TcpStatus | undefined): void {
    this.statusAsked = false;
    if (status !== undefined) this.lastStatus = status;
    for (const w of this.statusWaiters.splice(0)) w(status);
  }

  private askStatus(): void {
    if (this.released || this.statusAsked) return;
    this.statusAsked = true;
    this.host.sendHandle(MessageType.Status, this.handle);
  }

  private report(queued: number, received: number): void {
    this.reportedQueued = queued;
    // `received` counts modulo 2^32 on the wire: what the daemon has not seen yet is the lag.
    const lag = (((this.written - received) % 2 ** 32) + 2 ** 32) % 2 ** 32;
    this.reportedReceived = this.written - lag;
  }

  private release(type: number): void {
    this.host.sendHandle(type, this.handle);
    this.gone();
    this.rx.length = 0;
    this.rxHead = this.rxOffset = this.rxBytes = 0;
  }

  /** Nothing more goes to the daemon for this handle. */
  private gone(): void {
    if (this.released) return;
    this.released = true;
    this.host.forget(this.handle);
    this.onStatus(undefined);
  }
}
