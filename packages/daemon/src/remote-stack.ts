import { EventEmitter } from "node:events";
import { formatIpv4 } from "@userstack/ipv4";
import { realClock } from "@userstack/link";
import {
  ArgumentError,
  installSocketFaces,
  type ListenerHandle,
  type ListenOptions,
  type OpenOptions,
  SocketError,
  type SocketFaces,
  type SocketHost,
  type Timed,
  TimerQueue,
} from "@userstack/sockets";
import { TcpEvent, type TcpStatus } from "@userstack/tcp";
import { put16, put32, u16, u32 } from "@userstack/wire";
import { DebugChannel } from "./debug-channel.js";
import { MessageReader } from "./message-reader.js";
import { MessageWriter } from "./message-writer.js";
import { RemoteEndpoint, type RemoteHost } from "./remote-endpoint.js";
import { RemoteListener } from "./remote-listener.js";
import type { DaemonStats } from "./stack-service.js";
import type { Transport } from "./transport.js";
import {
  DAEMON_HANDLE,
  errorName,
  F,
  GoodbyeReason,
  MessageType,
  PROTOCOL_VERSION,
  stateName,
} from "./wire-format.js";

/** What the daemon said about itself in Welcome. */
export interface RemoteStackInfo {
  /** The daemon's (or the worker's) process id. */
  pid: number;
  /** TCP buffer sizes of the stack's connections unless a socket asks for others. */
  sendBufferSize: number;
  receiveBufferSize: number;
}

/**
 * A userstack stack in another process (`userstackd`, reached with {@link connectDaemon}) or in a
 * worker thread ({@link startStackWorker}), used from here through the same three socket faces as
 * a local stack — `createServer`/`connect` (Node), `openStream`/`listenStream` (WHATWG streams),
 * `socket()` (BSD) — because it implements the faces' {@link SocketHost} contract over the
 * daemon protocol. Socket calls run here; the stack, its timers and its TCP run there.
 *
 * Events: `"disconnect"` (with the error) when the daemon went away or said goodbye; every socket
 * then fails with ECONNRESET. `debug` is the chiTCP-style debug channel.
 */
export class RemoteStack extends EventEmitter implements SocketHost, SocketFaces, RemoteHost {
  /** A `net.Server` look-alike: `stack.createServer((socket) => …).listen(80)`. */
  declare createServer: SocketFaces["createServer"];
  /** `net.connect` look-alike: `stack.connect(80, "10.0.0.2", () => …)`. */
  declare connect: SocketFaces["connect"];
  /** Alias of {@link connect}, as `net.createConnection`. */
  declare createConnection: SocketFaces["createConnection"];
  /** A BSD-style socket. */
  declare socket: SocketFaces["socket"];
  /** Opens a connection as WHATWG streams. */
  declare openStream: SocketFaces["openStream"];
  /** Listens and yields each accepted connection as WHATWG streams. */
  declare listenStream: SocketFaces["listenStream"];

  /** @internal */
  readonly writer: MessageWriter;
  /** The chiTCP-style debug channel: watch and steer the segments and states of the stack's sockets. */
  readonly debug: DebugChannel;
  localAddress = 0;
  info: RemoteStackInfo = { pid: 0, sendBufferSize: 0, receiveBufferSize: 0 };
  private readonly clock = realClock();
  private readonly timers: TimerQueue;
  private readonly reader: MessageReader;
  private readonly endpoints = new Map<number, RemoteEndpoint>();
  private readonly listening = new Map<number, RemoteListener>();
  private readonly notices: RemoteEndpoint[] = [];
  private readonly listenerNotices = new Set<RemoteListener>();
  private readonly requests = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private nextHandle = 1;
  private nextRequest = 1;
  private inBatch = false;
  private noticeQueued = false;
  private closing = false;
  private ended: Error | undefined;
  private goodbyeText: string | undefined;
  private welcome: { resolve(): void; reject(e: Error): void } | undefined;
  private readonly endedPromise: Promise<void>;
  private endedResolve!: () => void;

  /** @internal Use {@link connectDaemon} or {@link startStackWorker}. */
  constructor(
    private readonly transport: Transport,
    /** Where the stack is, for messages ("the daemon at /run/userstackd.sock"). */
    readonly where: string,
  ) {
    super();
    this.writer = new MessageWriter(
      (b) => transport.send(b),
      transport.transfers,
      (n) => transport.allocate(n),
    );
    this.reader = new MessageReader((m) => this.onMessage(m));
    this.timers = new TimerQueue(this.clock, (now) => {
      this.timers.runDue(now);
      this.timers.rearm();
    });
    this.debug = new DebugChannel(this);
    this.endedPromise = new Promise((resolve) => {
      this.endedResolve = resolve;
    });
  }

  /** @internal Sends Hello and waits for Welcome. */
  handshake(timeoutMs: number): Promise<this> {
    return new Promise<this>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `userstack: ${this.where} accepted the connection but did not answer in ${timeoutMs} ms; is it a userstackd?`,
          ),
        );
        this.transport.close();
      }, timeoutMs);
      this.welcome = {
        resolve: () => {
          clearTimeout(timer);
          resolve(this);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.transport.start({
        chunk: (bytes) => this.onChunk(bytes),
        end: (error) => this.onEnd(error),
      });
      const b = this.writer.begin(MessageType.Hello, F.hello.end);
      put16(this.writer.bytes, b + F.hello.version, PROTOCOL_VERSION);
      put32(this.writer.bytes, b + F.hello.pid, process.pid);
    });
  }

  /** The stack's IPv4 address as text. */
  get address(): string {
    return formatIpv4(this.localAddress);
  }

  /** True once the connection to the stack ended (closed here, or the daemon went away). */
  get isClosed(): boolean {
    return this.ended !== undefined || this.closing;
  }

  now(): number {
    return this.clock.now();
  }

  schedule(t: Timed, at: number | undefined): void {
    this.timers.schedule(t, at);
  }

  // ---- SocketHost ----

  open(o: OpenOptions): RemoteEndpoint {
    this.assertOpen("connect", formatIpv4(o.remoteAddress), o.remotePort);
    const handle = this.allocateHandle();
    const readWindow = o.tcp?.receiveBufferSize ?? this.info.receiveBufferSize;
    const ep = new RemoteEndpoint(this, handle, {
      state: "SYN-SENT",
      localAddress: this.localAddress,
      localPort: o.localPort ?? 0,
      remoteAddress: o.remoteAddress,
      remotePort: o.remotePort,
      // A new connection's send buffer is empty: its whole size is the first credit.
      sendCredit: o.tcp?.sendBufferSize ?? this.info.sendBufferSize,
      readWindow,
    });
    const json = this.tcpJson(o.tcp);
    const O = F.open;
    const b = this.writer.begin(MessageType.Open, O.json + json.length);
    const bytes = this.writer.bytes;
    put32(bytes, b + O.handle, handle);
    put32(bytes, b + O.address, o.remoteAddress);
    put16(bytes, b + O.remotePort, o.remotePort);
    put16(bytes, b + O.localPort, o.localPort ?? 0);
    put32(bytes, b + O.readWindow, readWindow);
    put16(bytes, b + O.jsonLength, json.length);
    bytes.set(json, b + O.json);
    this.endpoints.set(handle, ep);
    return ep;
  }

  listen(o: ListenOptions): RemoteListener {
    this.assertOpen("listen", formatIpv4(o.address ?? 0), o.port);
    if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)
      throw new SocketError("EINVAL", "listen", undefined, undefined, `port ${o.port} is not 0 to 65535`);
    const handle = this.allocateHandle();
    const readWindow = o.tcp?.receiveBufferSize ?? this.info.receiveBufferSize;
    const l = new RemoteListener(handle, o.address ?? 0, o.port, readWindow);
    const json = this.tcpJson(o.tcp);
    const L = F.listen;
    const b = this.writer.begin(MessageType.Listen, L.json + json.length);
    const bytes = this.writer.bytes;
    put32(bytes, b + L.handle, handle);
    put32(bytes, b + L.address, o.address ?? 0);
    put16(bytes, b + L.port, o.port);
    put16(bytes, b + L.backlog, o.backlog === undefined ? 0xffff : Math.max(0, Math.min(o.backlog, 0xfffe)));
    put32(bytes, b + L.readWindow, readWindow);
    put16(bytes, b + L.jsonLength, json.length);
    bytes.set(json, b + L.json);
    this.listening.set(handle, l);
    return l;
  }

  accept(handle: ListenerHandle): RemoteEndpoint | undefined {
    const l = handle as RemoteListener;
    for (;;) {
      const ep = l.queue.shift();
      if (ep === undefined) return undefined;
      // One accepted, room for one more: the daemon pushes up to the backlog ahead of us.
      if (!l.closed) this.sendCredit(MessageType.AcceptCredit, l.handle, 1);
      // Reset before the application took it: accept(2) never returns such a connection either.
      if (ep.state === "CLOSED" && ep.readableLength === 0) continue;
      return ep;
    }
  }

  unlisten(handle: ListenerHandle): void {
    const l = handle as RemoteListener;
    if (l.closed) return;
    l.closed = true;
    this.listening.delete(l.handle);
    if (this.ended === undefined) this.sendHandle(MessageType.Unlisten, l.handle);
    for (const ep of l.queue.splice(0)) ep.abort();
  }

  // ---- the rest of the public API ----

  /** The daemon's view: its clients, its stack's connections (like `ss -ti`), the debug channel. */
  stats(): Promise<DaemonStats> {
    return this.request(MessageType.Stats) as Promise<DaemonStats>;
  }

  /**
   * Ends the connection to the stack: every socket of this client is reset and every listener
   * closed (as `Stack.close()` does locally), then the channel closes. The stack itself lives on.
   */
  async close(): Promise<void> {
    if (this.closing || this.ended !== undefined) return this.endedPromise;
    this.closing = true;
    for (const l of [...this.listening.values()]) this.unlisten(l);
    for (const ep of [...this.endpoints.values()]) {
      if (ep.state !== "CLOSED" && ep.state !== "TIME-WAIT") ep.abort();
      this.notify(ep, TcpEvent.Closed);
    }
    this.deliverNotices();
    this.writer.flush();
    this.transport.close();
    this.timers.close();
    return this.endedPromise;
  }

  /** Resolves once the connection to the stack has ended, whoever ended it. */
  get closed(): Promise<void> {
    return this.endedPromise;
  }

  // ---- RemoteHost ----

  /** @internal */
  notify(ep: RemoteEndpoint, events: number): void {
    if (ep.owner === undefined) return;
    if (ep.pendingEvents === 0) this.notices.push(ep);
    ep.pendingEvents |= events;
    this.queueNotices();
  }

  /** @internal */
  forget(handle: number): void {
    this.endpoints.delete(handle);
  }

  /** @internal */
  sendHandle(type: number, handle: number): void {
    if (this.ended !== undefined) return;
    const b = this.writer.begin(type, F.handle.end);
    put32(this.writer.bytes, b + F.handle.handle, handle);
  }

  /** @internal */
  sendCredit(type: number, handle: number, count: number): void {
    if (this.ended !== undefined) return;
    const b = this.writer.begin(type, F.credit.end);
    put32(this.writer.bytes, b + F.credit.handle, handle);
    put32(this.writer.bytes, b + F.credit.count, count);
  }

  /** @internal */
  sendOption(handle: number, option: number, value: boolean, idleMs: number): void {
    if (this.ended !== undefined) return;
    const S = F.setOption;
    const b = this.writer.begin(MessageType.SetOption, S.end);
    put32(this.writer.bytes, b + S.handle, handle);
    this.writer.bytes[b + S.option] = option;
    this.writer.bytes[b + S.value] = value ? 1 : 0;
    put32(this.writer.bytes, b + S.idleMs, Math.max(0, Math.min(idleMs, 0xffff_ffff)));
  }

  /** @internal For the debug channel: whether messages can still go out. */
  get live(): boolean {
    return this.ended === undefined;
  }

  // ---- incoming ----

  private onChunk(bytes: Uint8Array): void {
    this.inBatch = true;
    try {
      if (!this.reader.push(bytes) && this.reader.fault !== undefined) {
        this.goodbyeText = `the stream from ${this.where} broke the framing (${this.reader.fault})`;
        this.transport.close();
      }
    } finally {
      this.inBatch = false;
    }
    this.deliverNotices();
  }

  private onMessage(m: Uint8Array): void {
    const type = m[0]!;
    switch (type) {
      case MessageType.Data: {
        if (m.length < F.data.bytes) return;
        this.endpoints.get(u32(m, F.data.handle))?.onData(m.subarray(F.data.bytes));
        return;
      }
      case MessageType.SendCredit: {
        const C = F.sendCredit;
        if (m.length < C.end) return;
        this.endpoints
          .get(u32(m, C.handle))
          ?.onSendCredit(u32(m, C.credit), u32(m, C.sendQueued), u32(m, C.received));
        return;
      }
      case MessageType.Event: {
        const E = F.event;
        if (m.length < E.end) return;
        this.endpoints
          .get(u32(m, E.handle))
          ?.onEvent(
            m[E.events]!,
            stateName(m[E.state]!),
            errorName(m[E.error]!),
            u32(m, E.sendQueued),
            u32(m, E.received),
          );
        return;
      }
      case MessageType.Opened: {
        if (m.length < F.opened.end) return;
        this.endpoints
          .get(u32(m, F.opened.handle))
          ?.onOpened(u32(m, F.opened.address), u16(m, F.opened.port));
        return;
      }
      case MessageType.Listening: {
        if (m.length < F.listening.end) return;
        this.listening
          .get(u32(m, F.listening.handle))
          ?.onListening(u32(m, F.listening.address), u16(m, F.listening.port));
        return;
      }
      case MessageType.Accepted: {
        this.onAccepted(m);
        return;
      }
      case MessageType.Failed: {
        if (m.length < F.failed.end) return;
        const handle = u32(m, F.failed.handle);
        const code = errorName(m[F.failed.error]!) ?? "EINVAL";
        const hint = new TextDecoder().decode(m.subarray(F.failed.hint)) || undefined;
        const ep = this.endpoints.get(handle);
        if (ep !== undefined) {
          ep.fail(code);
          return;
        }
        const l = this.listening.get(handle);
        if (l !== undefined) {
          this.listening.delete(handle);
          l.fail(new SocketError(code, "listen", formatIpv4(l.localAddress), l.localPort, hint));
        }
        return;
      }
      case MessageType.StatusReply: {
        if (m.length < F.statusReply.end) return;
        const ep = this.endpoints.get(u32(m, F.statusReply.handle));
        ep?.onStatus(parseStatus(new TextDecoder().decode(m.subarray(F.statusReply.json))));
        return;
      }
      case MessageType.StatsReply: {
        if (m.length < F.request.end) return;
        const r = this.requests.get(u32(m, F.request.id));
        if (r === undefined) return;
        this.requests.delete(u32(m, F.request.id));
        r.resolve(JSON.parse(new TextDecoder().decode(m.subarray(F.request.json))));
        return;
      }
      case MessageType.DebugSegment:
      case MessageType.DebugState: {
        this.debug.onMessage(m);
        return;
      }
      case MessageType.Welcome: {
        const W = F.welcome;
        if (m.length < W.end) return;
        this.localAddress = u32(m, W.address);
        this.info = {
          pid: u32(m, W.pid),
          sendBufferSize: u32(m, W.sendBuffer),
          receiveBufferSize: u32(m, W.receiveBuffer),
        };
        this.welcome?.resolve();
        this.welcome = undefined;
        return;
      }
      case MessageType.Goodbye: {
        if (m.length < F.goodbye.end) return;
        const text = new TextDecoder().decode(m.subarray(F.goodbye.text));
        this.goodbyeText =
          m[F.goodbye.reason] === GoodbyeReason.Shutdown
            ? `${this.where} shut down`
            : `${this.where} said: ${text}`;
        return;
      }
      default:
        return; // a newer daemon's message this client does not know: ignored
    }
  }

  private onAccepted(m: Uint8Array): void {
    const A = F.accepted;
    if (m.length < A.end) return;
    const l = this.listening.get(u32(m, A.listener));
    const handle = u32(m, A.handle);
    const ep = new RemoteEndpoint(this, handle, {
      state: stateName(m[A.state]!),
      localAddress: u32(m, A.localAddress),
      localPort: u16(m, A.localPort),
      remoteAddress: u32(m, A.remoteAddress),
      remotePort: u16(m, A.remotePort),
      sendCredit: u32(m, A.sendCredit),
      readWindow: l?.readWindow ?? this.info.receiveBufferSize,
    });
    this.endpoints.set(handle, ep);
    if (l === undefined || l.closed) {
      ep.abort(); // the listener closed while the connection was on its way
      return;
    }
    l.queue.push(ep);
    this.listenerNotices.add(l);
    this.queueNotices();
  }

  private onEnd(error?: Error): void {
    if (this.ended !== undefined) return;
    const why =
      this.goodbyeText ??
      (this.closing
        ? "the stack was closed"
        : `${this.where} went away${error ? ` (${error.message})` : ""}`);
    this.ended = new Error(`userstack: ${why}`);
    this.reader.stop();
    this.writer.close();
    this.timers.close();
    this.welcome?.reject(this.ended);
    this.welcome = undefined;
    if (!this.closing) {
      // A daemon that dies resets every connection, as a peer's reset would.
      for (const ep of [...this.endpoints.values()]) ep.fail("ECONNRESET");
      for (const l of [...this.listening.values()])
        l.fail(new SocketError("ECONNRESET", "accept", formatIpv4(l.localAddress), l.localPort, why));
    }
    this.endpoints.clear();
    this.listening.clear();
    for (const r of this.requests.values()) r.reject(this.ended);
    this.requests.clear();
    this.debug.onEnd();
    this.deliverNotices();
    if (!this.closing) this.emit("disconnect", this.ended);
    this.endedResolve();
  }

  // ---- internals ----

  private queueNotices(): void {
    if (this.inBatch || this.noticeQueued) return;
    this.noticeQueued = true;
    queueMicrotask(() => {
      this.noticeQueued = false;
      this.deliverNotices();
    });
  }

  /** Tells the faces what happened, after a whole batch of messages was applied (as the stack does). */
  private deliverNotices(): void {
    for (let i = 0; i < this.notices.length; i++) {
      const ep = this.notices[i]!;
      const events = ep.pendingEvents;
      ep.pendingEvents = 0;
      try {
        ep.owner?.onTcpEvents(events);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
    this.notices.length = 0;
    if (this.listenerNotices.size > 0) {
      const ls = [...this.listenerNotices];
      this.listenerNotices.clear();
      for (const l of ls) {
        try {
          if (!l.closed) l.owner?.onAcceptable();
        } catch (e) {
          queueMicrotask(() => {
            throw e;
          });
        }
      }
    }
  }

  private allocateHandle(): number {
    const h = this.nextHandle;
    this.nextHandle = h >= DAEMON_HANDLE - 1 ? 1 : h + 1;
    return h;
  }

  private tcpJson(tcp: OpenOptions["tcp"]): Uint8Array {
    if (tcp === undefined || Object.keys(tcp).length === 0) return new Uint8Array(0);
    const json = new TextEncoder().encode(JSON.stringify(tcp));
    if (json.length > 0xffff)
      throw new ArgumentError("the TCP options take more than 64 KiB as JSON; pass fewer.");
    return json;
  }

  private request(type: number): Promise<unknown> {
    if (this.ended !== undefined) return Promise.reject(this.ended);
    const id = this.nextRequest++;
    const b = this.writer.begin(type, F.request.end);
    put32(this.writer.bytes, b + F.request.id, id);
    return new Promise((resolve, reject) => this.requests.set(id, { resolve, reject }));
  }

  private assertOpen(syscall: string, address: string, port: number): void {
    if (this.ended !== undefined)
      throw new SocketError(
        "ECONNRESET",
        syscall,
        address,
        port,
        this.ended.message.replace(/^userstack: /, ""),
      );
    if (this.closing)
      throw new SocketError("ESHUTDOWN", syscall, undefined, undefined, "the stack was closed");
  }
}
installSocketFaces(RemoteStack.prototype);

/** A TcpStatus from JSON (ssthresh travels as null while infinite). */
function parseStatus(json: string): TcpStatus | undefined {
  try {
    const s = JSON.parse(json) as (TcpStatus & { ssthresh: number | null }) | null;
    if (s === null) return undefined;
    if (s.ssthresh === null) s.ssthresh = Number.POSITIVE_INFINITY;
    return s;
  } catch {
    return undefined;
  }
}
