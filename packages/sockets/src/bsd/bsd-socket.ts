import { formatIpv4 } from "@userstack/ipv4";
import { type TcpConfig, TcpEvent } from "@userstack/tcp";
import { ArgumentError, SocketError, type SocketErrorCode } from "../errors.js";
import { addressArgument, portArgument } from "../parse.js";
import type {
  EndpointOwner,
  ListenerHandle as ListenerEndpoint,
  ListenerOwner,
  SocketHost as StackCore,
  Endpoint as TcpEndpoint,
} from "../socket-host.js";

/** An address as getsockname/getpeername return it. */
export interface SocketAddress {
  address: string;
  port: number;
}

/** Socket options {@link BsdSocket.setOption} knows: TCP_NODELAY, SO_KEEPALIVE. */
export type SocketOption = "noDelay" | "keepAlive";

type Phase = "fresh" | "bound" | "listening" | "connecting" | "connected" | "closed";

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
}

/**
 * The BSD socket calls as promises, for people who learned sockets in C:
 *
 * ```ts
 * const s = stack.socket();
 * await s.bind(7); await s.listen();
 * const c = await s.accept();
 * for (let b = await c.recv(); b.length > 0; b = await c.recv()) await c.send(b);
 * await c.close();
 * ```
 *
 * `send` resolves once every byte is in the send buffer (a blocking send(2)); `recv` resolves with
 * at least one byte, or an empty array at the end of the stream (read(2) returning 0). Errors
 * reject with a {@link SocketError} carrying errno's name in `code`.
 */
export class BsdSocket implements EndpointOwner, ListenerOwner {
  private phase: Phase = "fresh";
  private port = 0;
  private address = 0;
  private ep: TcpEndpoint | undefined;
  private le: ListenerEndpoint | undefined;
  private readonly options: Partial<TcpConfig> = {};
  private connectWaiter: Waiter<void> | undefined;
  private readonly acceptWaiters: Waiter<BsdSocket>[] = [];
  private recvWaiter: { w: Waiter<Uint8Array>; max: number } | undefined;
  private sendWaiter: { w: Waiter<number>; data: Uint8Array; at: number } | undefined;
  private failure: SocketError | undefined;

  /** @internal */
  constructor(
    private readonly stack: StackCore,
    endpoint?: TcpEndpoint,
  ) {
    if (endpoint !== undefined) {
      this.ep = endpoint;
      endpoint.owner = this;
      this.phase = "connected";
    }
  }

  /** bind(2): the local port (0: an ephemeral one when listening or connecting) and address. */
  async bind(port: number, address?: string): Promise<void> {
    this.expect(["fresh"], "bind", "EINVAL", "the socket is bound or connected already");
    this.port = portArgument(port, "bind(): port", true);
    this.address = addressArgument(address, "bind(): address", 0);
    if (this.address !== 0 && this.address !== this.stack.localAddress) {
      throw new SocketError("EADDRNOTAVAIL", "bind", address, port, "that address is not this stack's");
    }
    this.phase = "bound";
  }

  /** listen(2): starts accepting; `backlog` bounds the queue of completed connections. */
  async listen(backlog = 511): Promise<void> {
    this.expect(["fresh", "bound"], "listen", "EINVAL", "the socket is connected");
    const le = this.stack.listen({
      port: this.port,
      address: this.address,
      backlog,
      tcp: { ...this.options },
    });
    le.owner = this;
    this.le = le;
    const before = this.phase;
    this.phase = "listening";
    // A remote stack (the daemon's client library) says later whether the port listens.
    if (le.ready !== undefined) {
      try {
        await le.ready;
      } catch (e) {
        if (this.le === le) [this.le, this.phase] = [undefined, before];
        throw e;
      }
    }
    this.port = le.localPort;
  }

  /** accept(2): the next established connection, waiting for one if none is queued. */
  accept(): Promise<BsdSocket> {
    if (this.phase !== "listening" || this.le === undefined) {
      return Promise.reject(new SocketError("EINVAL", "accept", undefined, undefined, "call listen() first"));
    }
    if (this.failure) return Promise.reject(this.failure);
    const ep = this.stack.accept(this.le);
    if (ep !== undefined) return Promise.resolve(new BsdSocket(this.stack, ep));
    return new Promise((resolve, reject) => this.acceptWaiters.push({ resolve, reject }));
  }

  /** connect(2): resolves once established; rejects with ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH… */
  connect(address: string, port: number): Promise<void> {
    try {
      this.expect(["fresh", "bound"], "connect", "EISCONN", "the socket is connected or listening");
      const remote = addressArgument(address, "connect(): address", this.stack.localAddress);
      const p = portArgument(port, "connect(): port", false);
      this.ep = this.stack.open({
        remoteAddress: remote,
        remotePort: p,
        localPort: this.port === 0 ? undefined : this.port,
        tcp: { ...this.options },
      });
    } catch (e) {
      return Promise.reject(e);
    }
    this.ep.owner = this;
    this.phase = "connecting";
    return new Promise((resolve, reject) => {
      this.connectWaiter = { resolve, reject };
    });
  }

  /** send(2), blocking: resolves with `data.length` once all of it is queued for sending. */
  send(data: Uint8Array): Promise<number> {
    const ep = this.ep;
    if (this.sendWaiter !== undefined) {
      return Promise.reject(
        new SocketError("EALREADY", "send", undefined, undefined, "await the previous send() first"),
      );
    }
    if (ep === undefined || this.phase !== "connected")
      return Promise.reject(this.failure ?? new SocketError("ENOTCONN", "send"));
    const n = ep.write(data);
    if (n < 0) return Promise.reject(this.errorOf(ep.error ?? "EPIPE", "send"));
    if (n === data.length) return Promise.resolve(n);
    return new Promise((resolve, reject) => {
      this.sendWaiter = { w: { resolve, reject }, data, at: n };
    });
  }

  /** recv(2): at least one byte (at most `max`), or an empty array at the end of the stream. */
  recv(max = 65536): Promise<Uint8Array> {
    if (!(max >= 1)) return Promise.reject(new ArgumentError(`recv(): max must be at least 1, got ${max}.`));
    if (this.recvWaiter !== undefined) {
      return Promise.reject(
        new SocketError("EALREADY", "recv", undefined, undefined, "await the previous recv() first"),
      );
    }
    const got = this.tryRead(max);
    if (got !== undefined) return got instanceof Error ? Promise.reject(got) : Promise.resolve(got);
    return new Promise((resolve, reject) => {
      this.recvWaiter = { w: { resolve, reject }, max };
    });
  }

  /** shutdown(2): "write" sends FIN after the queued data; "read" discards further input; "both". */
  async shutdown(how: "read" | "write" | "both" = "write"): Promise<void> {
    const ep = this.ep;
    if (ep === undefined) throw new SocketError("ENOTCONN", "shutdown");
    if (how !== "read") ep.shutdown();
    if (how !== "write") this.readShut = true;
  }
  private readShut = false;

  /** close(2): FIN after queued data (RST if unread data is left, as Linux does); stops listening. */
  async close(): Promise<void> {
    if (this.phase === "closed") return;
    this.phase = "closed";
    if (this.le !== undefined) {
      this.stack.unlisten(this.le);
      this.le.owner = undefined;
    }
    if (this.ep !== undefined) {
      this.ep.owner = undefined;
      this.ep.close();
    }
    this.failAll(new SocketError("EINVAL", "close", undefined, undefined, "the socket was closed"));
  }

  /** setsockopt: `noDelay` (TCP_NODELAY) or `keepAlive` (SO_KEEPALIVE). */
  setOption(option: SocketOption, value: boolean): void {
    if (option !== "noDelay" && option !== "keepAlive")
      throw new ArgumentError(`setOption(): unknown option "${option}"; use "noDelay" or "keepAlive".`);
    this.options[option] = value;
    if (this.ep === undefined) return;
    if (option === "noDelay") this.ep.setNoDelay(value);
    else this.ep.setKeepAlive(value, 0);
  }

  /** getsockname(2). */
  localAddress(): SocketAddress {
    const c = this.ep;
    if (c) return { address: formatIpv4(c.localAddress), port: c.localPort };
    return { address: formatIpv4(this.address), port: this.port };
  }

  /** getpeername(2); ENOTCONN before connect. */
  remoteAddress(): SocketAddress {
    const c = this.ep;
    if (c === undefined) throw new SocketError("ENOTCONN", "getpeername");
    return { address: formatIpv4(c.remoteAddress), port: c.remotePort };
  }

  /** TCP_INFO: the connection's state and statistics. */
  tcpInfo() {
    return this.ep?.status();
  }

  // ---- events ----

  /** @internal */
  onTcpEvents(events: number): void {
    const ep = this.ep;
    if (ep === undefined) return;
    if (events & TcpEvent.Established && this.phase === "connecting") {
      this.phase = "connected";
      const w = this.connectWaiter;
      this.connectWaiter = undefined;
      w?.resolve();
    }
    if (events & TcpEvent.Error || (events & TcpEvent.Closed && this.phase === "connecting")) {
      const err = this.errorOf(ep.error ?? "ECONNRESET", this.phase === "connecting" ? "connect" : "recv");
      this.failure = err;
      this.failAll(err);
      return;
    }
    if (this.sendWaiter !== undefined && events & (TcpEvent.Writable | TcpEvent.Closed)) this.continueSend();
    if (this.recvWaiter !== undefined && events & (TcpEvent.Readable | TcpEvent.PeerFin | TcpEvent.Closed)) {
      const got = this.tryRead(this.recvWaiter.max);
      if (got !== undefined) {
        const w = this.recvWaiter.w;
        this.recvWaiter = undefined;
        if (got instanceof Error) w.reject(got);
        else w.resolve(got);
      }
    }
  }

  /** @internal The listener stopped (a remote stack's daemon went away): pending accepts fail. */
  onListenerError(error: Error): void {
    this.failure = error as SocketError;
    this.failAll(error);
  }

  /** @internal */
  onAcceptable(): void {
    const le = this.le;
    if (le === undefined) return;
    while (this.acceptWaiters.length > 0) {
      const ep = this.stack.accept(le);
      if (ep === undefined) return;
      this.acceptWaiters.shift()!.resolve(new BsdSocket(this.stack, ep));
    }
  }

  // ---- internals ----

  /** Bytes, an empty array at EOF, an error, or undefined when the caller must wait. */
  private tryRead(max: number): Uint8Array | Error | undefined {
    const ep = this.ep;
    if (ep === undefined) return this.failure ?? new SocketError("ENOTCONN", "recv");
    const n = Math.min(max, ep.readableLength);
    if (n > 0 && !this.readShut) {
      const buf = new Uint8Array(n);
      ep.read(buf);
      return buf;
    }
    if (this.readShut || ep.readEnded) return new Uint8Array(0);
    if (this.failure) return this.failure;
    if (ep.state === "CLOSED") return ep.error ? this.errorOf(ep.error, "recv") : new Uint8Array(0);
    return undefined;
  }

  private continueSend(): void {
    const s = this.sendWaiter!;
    const ep = this.ep!;
    const n = ep.write(s.data.subarray(s.at));
    if (n < 0) {
      this.sendWaiter = undefined;
      s.w.reject(this.errorOf(ep.error ?? "EPIPE", "send"));
      return;
    }
    s.at += n;
    if (s.at === s.data.length) {
      this.sendWaiter = undefined;
      s.w.resolve(s.data.length);
    }
  }

  private failAll(err: Error): void {
    const c = this.connectWaiter;
    this.connectWaiter = undefined;
    c?.reject(err);
    const s = this.sendWaiter;
    this.sendWaiter = undefined;
    s?.w.reject(err);
    const r = this.recvWaiter;
    this.recvWaiter = undefined;
    r?.w.reject(err);
    for (const a of this.acceptWaiters.splice(0)) a.reject(err);
  }

  private expect(phases: Phase[], syscall: string, code: SocketErrorCode, why: string): void {
    if (!phases.includes(this.phase)) {
      if (this.phase === "closed")
        throw new SocketError("EINVAL", syscall, undefined, undefined, "the socket is closed");
      throw new SocketError(code, syscall, undefined, undefined, why);
    }
  }

  private errorOf(code: SocketErrorCode, syscall: string): SocketError {
    const c = this.ep;
    return new SocketError(code, syscall, c ? formatIpv4(c.remoteAddress) : undefined, c?.remotePort);
  }
}
