import { Duplex } from "node:stream";
import { formatIpv4 } from "@userstack/ipv4";
import type { HeapEntry } from "@userstack/link";
import { type TcpConfig, TcpEvent } from "@userstack/tcp";
import { ArgumentError, SocketError, type SocketErrorCode } from "../errors.js";
import { addressArgument, portArgument } from "../parse.js";
import type { EndpointOwner, SocketHost as Stack, Endpoint as TcpEndpoint } from "../socket-host.js";
import type { Timed } from "../timer-queue.js";

/** Options of {@link UserstackSocket.connect}, as `net.connect` takes them (IPv4 addresses only). */
export interface SocketConnectOptions {
  port: number | string;
  /** An IPv4 address; userstack has no DNS. Default: our own address. */
  host?: string;
  localPort?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** Idle timeout in ms ('timeout' event), as socket.setTimeout. */
  timeout?: number;
  /** TCP settings for this connection (buffer sizes, congestion control…). */
  tcp?: Partial<TcpConfig>;
}

/** Options of the socket constructor. */
export interface UserstackSocketOptions {
  /** Keep the writable side open after the peer's FIN (net.Socket's allowHalfOpen). Default false. */
  allowHalfOpen?: boolean;
  /** @internal An accepted connection. */
  endpoint?: TcpEndpoint;
}

const READ_CHUNK = 64 * 1024;

/**
 * A TCP connection of a userstack stack that behaves like `net.Socket`: a Duplex with `connect`,
 * `ready`, `data`, `end`, `close`, `error`, `timeout` and `drain` events, `setNoDelay`,
 * `setKeepAlive`, `setTimeout`, `address()`, `remoteAddress`/`remotePort`, `end()` (FIN after the
 * queued data), `destroy()`, `resetAndDestroy()` (RST), and backpressure through `write()`'s
 * return value down to the TCP window. `node:http`, undici and `tls.connect({ socket })` run on it.
 */
export class UserstackSocket extends Duplex implements EndpointOwner {
  /** True between connect() and the end of the handshake. */
  connecting = false;
  /** Bytes received and handed to the reader. */
  bytesRead = 0;
  /** The idle timeout set by setTimeout (ms), or undefined. */
  timeout: number | undefined = undefined;
  private ep: TcpEndpoint | undefined;
  private queued: { data: Uint8Array; at: number; cb: (err?: Error | null) => void } | undefined;
  private wantRead = false;
  private readEof = false;
  private accepted = 0;
  private noDelay: boolean | undefined;
  private keepAlive: { enable: boolean; delay: number } | undefined;
  private idle: IdleTimer | undefined;

  constructor(
    private readonly stack: Stack,
    options: UserstackSocketOptions = {},
  ) {
    super({ allowHalfOpen: options.allowHalfOpen ?? false, emitClose: true, autoDestroy: true });
    if (options.endpoint !== undefined) this.adopt(options.endpoint);
  }

  // ---- connecting ----

  /** Opens the connection: `connect(port, host?, listener?)` or `connect(options, listener?)`. */
  connect(options: SocketConnectOptions, listener?: () => void): this;
  connect(port: number | string, host?: string, listener?: () => void): this;
  connect(port: number | string, listener?: () => void): this;
  connect(a: number | string | SocketConnectOptions, b?: string | (() => void), c?: () => void): this {
    const o: SocketConnectOptions = typeof a === "object" ? { ...a } : { port: a };
    let cb = c;
    if (typeof b === "function") cb = b;
    else if (typeof b === "string") o.host = b;
    if (cb) this.once("connect", cb);
    if (this.ep !== undefined) throw new SocketError("EISCONN", "connect");
    const port = portArgument(o.port, "connect(): port", false);
    const remote = addressArgument(o.host, "connect(): host", this.stack.localAddress);
    if (o.noDelay !== undefined) this.noDelay = o.noDelay;
    if (o.keepAlive) this.keepAlive = { enable: true, delay: o.keepAliveInitialDelay ?? 0 };
    if (o.timeout !== undefined) this.setTimeout(o.timeout);
    this.connecting = true;
    const tcp: Partial<TcpConfig> = { ...o.tcp };
    if (this.noDelay !== undefined) tcp.noDelay = this.noDelay;
    this.applyKeepAlive(tcp);
    try {
      this.adopt(this.stack.open({ remoteAddress: remote, remotePort: port, localPort: o.localPort, tcp }));
      this.connecting = true;
    } catch (e) {
      // Like net: connection errors arrive as an 'error' event, after connect() returned.
      process.nextTick(() => this.destroy(e as Error));
    }
    return this;
  }

  private adopt(ep: TcpEndpoint): void {
    this.ep = ep;
    ep.owner = this;
    this.connecting = ep.state === "SYN-SENT" || ep.state === "SYN-RECEIVED";
    if (!this.connecting) this.touch();
  }

  // ---- events from the stack ----

  /** @internal */
  onTcpEvents(events: number): void {
    const conn = this.ep;
    if (conn === undefined) return;
    if (events & TcpEvent.Established && this.connecting) {
      this.connecting = false;
      this.touch();
      this.emit("connect");
      this.emit("ready");
    }
    if (events & (TcpEvent.Readable | TcpEvent.PeerFin)) {
      this.touch();
      this.pull();
    }
    if (events & TcpEvent.Writable && this.queued) this.continueWrite();
    if (events & TcpEvent.Error) {
      this.destroy(this.errorFor(conn.error ?? "ECONNRESET", this.connecting ? "connect" : "read"));
      return;
    }
    if (events & TcpEvent.Closed && !this.destroyed) {
      // Both directions finished (or the peer reset a closing connection): nothing more can happen.
      this.pull();
      if (this.queued) this.failPending("EPIPE");
    }
  }

  // ---- Duplex ----

  override _read(): void {
    this.wantRead = true;
    this.pull();
  }

  private pull(): void {
    const ep = this.ep;
    if (ep === undefined || this.readEof) return;
    while (this.wantRead) {
      const n = ep.readableLength;
      if (n === 0) {
        if (ep.readEnded || ep.state === "CLOSED") {
          this.readEof = true;
          this.push(null);
        }
        return;
      }
      const buf = Buffer.allocUnsafe(Math.min(n, READ_CHUNK));
      const got = ep.read(buf);
      if (got <= 0) return;
      this.bytesRead += got;
      this.wantRead = this.push(got === buf.length ? buf : buf.subarray(0, got));
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.ep === undefined) {
      cb(new SocketError("ENOTCONN", "write", undefined, undefined, "call connect() before write()"));
      return;
    }
    this.queued = { data: chunk, at: 0, cb };
    this.continueWrite();
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this._write(
      chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)),
      "binary",
      cb,
    );
  }

  private continueWrite(): void {
    const p = this.queued;
    const ep = this.ep;
    if (p === undefined || ep === undefined) return;
    const rest = p.at === 0 ? p.data : p.data.subarray(p.at);
    const n = ep.write(rest);
    if (n < 0) {
      this.failPending(ep.error ?? "EPIPE");
      return;
    }
    p.at += n;
    this.accepted += n;
    if (n > 0) this.touch();
    if (p.at === p.data.length) {
      this.queued = undefined;
      p.cb();
    }
  }

  private failPending(code: SocketErrorCode): void {
    const p = this.queued;
    this.queued = undefined;
    p?.cb(this.errorFor(code, "write"));
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.ep?.shutdown();
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    const ep = this.ep;
    if (ep !== undefined) {
      ep.owner = undefined;
      const s = ep.state;
      if (s !== "CLOSED" && s !== "TIME-WAIT") {
        if (this.resetOnDestroy || s === "SYN-SENT") ep.abort();
        else ep.close();
      }
    }
    this.idle?.cancel();
    this.connecting = false;
    if (this.queued) {
      const p = this.queued;
      this.queued = undefined;
      p.cb(err ?? new SocketError("EPIPE", "write", undefined, undefined, "the socket was destroyed"));
    }
    cb(err);
  }

  private resetOnDestroy = false;

  /** Closes with RST instead of FIN (SO_LINGER 0), like net.Socket.resetAndDestroy(). */
  resetAndDestroy(): this {
    this.resetOnDestroy = true;
    return this.destroy();
  }

  /** Half-closes after the queued data (alias of end() for streams that call it). */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once("finish", () => this.destroy());
  }

  // ---- options ----

  /** Disables (true, the default argument) or enables Nagle's algorithm. */
  setNoDelay(noDelay = true): this {
    this.noDelay = noDelay;
    if (this.ep) this.ep.setNoDelay(noDelay);
    return this;
  }

  /** Turns keepalive probes on or off; `initialDelay` ms of idleness before the first probe. */
  setKeepAlive(enable = false, initialDelay = 0): this {
    this.keepAlive = { enable, delay: initialDelay };
    this.ep?.setKeepAlive(enable, initialDelay);
    return this;
  }

  private applyKeepAlive(cfg: Partial<TcpConfig>): void {
    if (this.keepAlive === undefined) return;
    cfg.keepAlive = this.keepAlive.enable;
    if (this.keepAlive.enable && this.keepAlive.delay > 0) cfg.keepAliveIdle = this.keepAlive.delay;
  }

  /** Emits 'timeout' after `ms` without activity (0 disables), as net.Socket.setTimeout. */
  setTimeout(ms: number, callback?: () => void): this {
    if (!Number.isFinite(ms) || ms < 0)
      throw new ArgumentError(`setTimeout(): ms must be a non-negative number, got ${ms}.`);
    if (callback) {
      if (ms === 0) this.removeListener("timeout", callback);
      else this.once("timeout", callback);
    }
    this.timeout = ms === 0 ? undefined : ms;
    this.idle?.cancel();
    this.idle = ms === 0 ? undefined : new IdleTimer(this.stack, ms, () => this.emit("timeout"));
    return this;
  }

  private touch(): void {
    this.idle?.touch();
  }

  /** No-ops: the stack's own timers and device decide whether the process stays alive. */
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  // ---- addresses ----

  /** `{ address, family: "IPv4", port }` of the local end, or `{}` before connect. */
  address(): { address: string; family: string; port: number } | Record<string, never> {
    const c = this.ep;
    return c ? { address: formatIpv4(c.localAddress), family: "IPv4", port: c.localPort } : {};
  }
  get remoteAddress(): string | undefined {
    const c = this.ep;
    return c ? formatIpv4(c.remoteAddress) : undefined;
  }
  get remotePort(): number | undefined {
    return this.ep?.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.ep ? "IPv4" : undefined;
  }
  get localAddress(): string | undefined {
    const c = this.ep;
    return c ? formatIpv4(c.localAddress) : undefined;
  }
  get localPort(): number | undefined {
    return this.ep?.localPort;
  }
  /** Bytes accepted by write(), including those still in the stream's queue. */
  get bytesWritten(): number {
    return this.accepted + this.writableLength;
  }
  /** True until connected. */
  get pending(): boolean {
    return this.ep === undefined || this.connecting;
  }
  /** `opening`, `open`, `readOnly`, `writeOnly` or `closed`, as net.Socket reports. */
  get readyState(): string {
    if (this.connecting) return "opening";
    if (this.readable && this.writable) return "open";
    if (this.readable) return "readOnly";
    if (this.writable) return "writeOnly";
    return "closed";
  }
  /** The TCP connection's statistics (state, srtt, cwnd, retransmits…), like `ss -ti`. */
  tcpInfo() {
    return this.ep?.status();
  }

  private errorFor(code: SocketErrorCode, syscall: string): SocketError {
    const c = this.ep;
    return new SocketError(code, syscall, c ? formatIpv4(c.remoteAddress) : undefined, c?.remotePort);
  }
}

/** net.Socket's idle timeout, on the stack's timer queue. */
class IdleTimer implements Timed {
  timerEntry: HeapEntry<Timed> | undefined = undefined;
  private last: number;
  private live = true;

  constructor(
    private readonly stack: Stack,
    private readonly ms: number,
    private readonly fire: () => void,
  ) {
    this.last = stack.now();
    stack.schedule(this, this.last + ms);
  }

  touch(): void {
    this.last = this.stack.now();
  }

  onTimer(now: number): void {
    if (!this.live) return;
    if (now - this.last >= this.ms) {
      this.last = now;
      this.fire();
    }
    if (this.live) this.stack.schedule(this, this.last + this.ms);
  }

  cancel(): void {
    this.live = false;
    this.stack.schedule(this, undefined);
  }
}
