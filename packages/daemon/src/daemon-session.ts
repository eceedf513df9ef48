import type { Endpoint, ListenerHandle, SocketError } from "@userstack/sockets";
import { resolveTcpConfig, type TcpConfig } from "@userstack/tcp";
import { put16, put32, u16, u32 } from "@userstack/wire";
import { DaemonListener, DaemonSocket, type ListenerSession } from "./daemon-socket.js";
import { MessageReader } from "./message-reader.js";
import { MessageWriter } from "./message-writer.js";
import type { GateFlow, GateSubscriber } from "./segment-gate.js";
import { parseTcpOptions } from "./tcp-options.js";
import type { Transport } from "./transport.js";
import {
  DAEMON_HANDLE,
  DebugEvents,
  errorCode,
  F,
  GoodbyeReason,
  MessageType,
  PROTOCOL_VERSION,
  SocketOptionCode,
  stateCode,
} from "./wire-format.js";

/** The most sockets and listeners one client may hold at once. */
export const MAX_HANDLES = 65536;

/** How long a new connection may take to send Hello. */
const HELLO_TIMEOUT_MS = 5000;

/** Above this many unsent bytes on the transport, Data waits (a client that does not read its socket). */
const CONGESTED_BYTES = 8 * 1024 * 1024;

/** What a session needs from the service that hosts it. */
export interface SessionHost {
  readonly localAddress: number;
  readonly tcpDefaults: TcpConfig;
  readonly pid: number;
  open(o: {
    remoteAddress: number;
    remotePort: number;
    localPort?: number;
    tcp: Partial<TcpConfig>;
  }): Endpoint;
  listen(o: { port: number; address: number; backlog?: number; tcp: Partial<TcpConfig> }): ListenerHandle;
  accept(le: ListenerHandle): Endpoint | undefined;
  unlisten(le: ListenerHandle): void;
  statsJson(): string;
  readonly gate: {
    subscribe(
      owner: GateSubscriber,
      id: number,
      f: {
        remoteAddress: number;
        localPort: number;
        remotePort: number;
        events: number;
        intercept: boolean;
      },
    ): void;
    unsubscribe(owner: GateSubscriber, id: number): void;
    verdict(owner: GateSubscriber, event: number, action: number): void;
    release(owner: GateSubscriber, event: number): void;
    removeSubscriber(owner: GateSubscriber): void;
  };
  sessionEnded(session: DaemonSession, releasedSockets: number): void;
  countViolation(): void;
  countOverrun(): void;
}

/** A session as {@link StackService.stats} lists it. */
export interface SessionInfo {
  id: number;
  /** The client's process id, as it said in Hello. */
  pid: number;
  transport: "unix" | "port";
  sockets: number;
  listeners: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * One client of the daemon (one connection to its UNIX socket, or one MessagePort to a stack
 * worker): decodes the client's messages, runs them against the stack, and owns the client's
 * sockets. When the client goes away — closed, crashed or killed — its sockets are reset and its
 * listeners closed, as the kernel releases a dead process's descriptors.
 */
export class DaemonSession implements ListenerSession, GateSubscriber {
  readonly writer: MessageWriter;
  pid = 0;
  private readonly reader: MessageReader;
  private greeted = false;
  private ended = false;
  private readonly sockets = new Map<number, DaemonSocket>();
  private readonly listeners = new Map<number, DaemonListener>();
  private nextAccepted = 0;
  private bytesIn = 0;

  constructor(
    readonly id: number,
    private readonly host: SessionHost,
    private readonly transport: Transport & { queued?(): number; onDrain?(cb: () => void): void },
    readonly kind: "unix" | "port",
  ) {
    this.writer = new MessageWriter(
      (b) => transport.send(b),
      transport.transfers,
      (n) => transport.allocate(n),
    );
    this.reader = new MessageReader((body) => this.onMessage(body));
    transport.onDrain?.(() => {
      for (const s of this.sockets.values()) s.service();
    });
    // A connection that never says Hello must not hold a session for ever.
    setTimeout(() => {
      if (!this.greeted && !this.ended) this.violation(`no Hello within ${HELLO_TIMEOUT_MS} ms`);
    }, HELLO_TIMEOUT_MS).unref();
    transport.start({
      chunk: (bytes) => {
        this.bytesIn += bytes.length;
        if (!this.reader.push(bytes) && this.reader.fault !== undefined)
          this.violation(`the stream broke the framing (${this.reader.fault})`);
      },
      end: () => this.end(),
    });
  }

  get congested(): boolean {
    return (this.transport.queued?.() ?? 0) > CONGESTED_BYTES;
  }

  info(): SessionInfo {
    return {
      id: this.id,
      pid: this.pid,
      transport: this.kind,
      sockets: this.sockets.size,
      listeners: this.listeners.size,
      bytesIn: this.bytesIn,
      bytesOut: this.writer.bytesOut,
    };
  }

  /** Says goodbye (with a reason the client shows) and ends the session. */
  goodbye(reason: number, text: string): void {
    if (this.ended) return;
    const t = new TextEncoder().encode(text);
    const b = this.writer.begin(MessageType.Goodbye, F.goodbye.end + t.length);
    this.writer.bytes[b + F.goodbye.reason] = reason;
    this.writer.bytes.set(t, b + F.goodbye.text);
    this.writer.flush();
    this.transport.close();
    this.end();
  }

  // ---- ListenerSession ----

  forget(handle: number): void {
    this.sockets.delete(handle);
  }

  countOverrun(): void {
    this.host.countOverrun();
  }

  nextAcceptedHandle(): number {
    this.nextAccepted = (this.nextAccepted + 1) & 0x7fff_ffff;
    return (DAEMON_HANDLE | this.nextAccepted) >>> 0;
  }

  adopt(socket: DaemonSocket): void {
    this.sockets.set(socket.handle, socket);
  }

  // ---- GateSubscriber ----

  debugSegment(
    subscription: number,
    event: number,
    direction: number,
    source: number,
    destination: number,
    segment: Uint8Array,
  ): void {
    if (this.ended) return;
    const D = F.debugSegment;
    const b = this.writer.begin(MessageType.DebugSegment, D.segment + segment.length);
    const bytes = this.writer.bytes;
    put32(bytes, b + D.subscription, subscription);
    put32(bytes, b + D.event, event);
    bytes[b + D.direction] = direction;
    put32(bytes, b + D.source, source);
    put32(bytes, b + D.destination, destination);
    bytes.set(segment, b + D.segment);
  }

  debugState(subscription: number, flow: GateFlow, from: string, to: string): void {
    if (this.ended) return;
    const D = F.debugState;
    const b = this.writer.begin(MessageType.DebugState, D.end);
    const bytes = this.writer.bytes;
    put32(bytes, b + D.subscription, subscription);
    put32(bytes, b + D.localAddress, flow.localAddress);
    put16(bytes, b + D.localPort, flow.localPort);
    put32(bytes, b + D.remoteAddress, flow.remoteAddress);
    put16(bytes, b + D.remotePort, flow.remotePort);
    bytes[b + D.from] = stateCode(from);
    bytes[b + D.to] = stateCode(to);
  }

  // ---- messages ----

  private onMessage(m: Uint8Array): void {
    if (this.ended) return;
    const type = m[0]!;
    if (!this.greeted) {
      if (type !== MessageType.Hello || m.length < F.hello.end) {
        this.violation("the first message must be Hello");
        return;
      }
      this.hello(m);
      return;
    }
    switch (type) {
      case MessageType.Open: {
        this.open(m);
        return;
      }
      case MessageType.Listen: {
        this.listen(m);
        return;
      }
      case MessageType.Write: {
        if (m.length < F.data.bytes) {
          this.violation("Write is too short");
          return;
        }
        const h = u32(m, F.data.handle);
        const s = this.sockets.get(h);
        if (s === undefined) return; // closed meanwhile: its data is moot
        const data = m.subarray(F.data.bytes);
        if (s.received + data.length > s.granted) {
          this.violation("the client wrote beyond its send credit");
          return;
        }
        s.write(data);
        return;
      }
      case MessageType.ReadCredit: {
        if (m.length < F.credit.end) {
          this.violation("ReadCredit is too short");
          return;
        }
        this.sockets.get(u32(m, F.credit.handle))?.addReadCredit(u32(m, F.credit.count));
        return;
      }
      case MessageType.AcceptCredit: {
        if (m.length < F.credit.end) {
          this.violation("AcceptCredit is too short");
          return;
        }
        this.listeners.get(u32(m, F.credit.handle))?.addCredit(u32(m, F.credit.count));
        return;
      }
      case MessageType.Shutdown:
      case MessageType.Close:
      case MessageType.Abort:
      case MessageType.Unlisten:
      case MessageType.Status: {
        this.onHandle(type, m);
        return;
      }
      case MessageType.SetOption: {
        if (m.length < F.setOption.end) {
          this.violation("SetOption is too short");
          return;
        }
        const s = this.sockets.get(u32(m, F.setOption.handle));
        if (s === undefined) return;
        const on = m[F.setOption.value] !== 0;
        if (m[F.setOption.option] === SocketOptionCode.NoDelay) s.ep.setNoDelay(on);
        else if (m[F.setOption.option] === SocketOptionCode.KeepAlive)
          s.ep.setKeepAlive(on, u32(m, F.setOption.idleMs));
        return;
      }
      case MessageType.Stats: {
        if (m.length < F.request.end) {
          this.violation("Stats is too short");
          return;
        }
        this.reply(MessageType.StatsReply, u32(m, F.request.id), this.host.statsJson());
        return;
      }
      case MessageType.DebugSubscribe: {
        const D = F.debugSubscribe;
        if (m.length < D.end) {
          this.violation("DebugSubscribe is too short");
          return;
        }
        this.host.gate.subscribe(this, u32(m, D.subscription), {
          remoteAddress: u32(m, D.remoteAddress),
          localPort: u16(m, D.localPort),
          remotePort: u16(m, D.remotePort),
          events: m[D.events]! & (DebugEvents.State | DebugEvents.Incoming | DebugEvents.Outgoing),
          intercept: m[D.intercept] !== 0,
        });
        return;
      }
      case MessageType.DebugUnsubscribe:
        if (m.length < F.debugUnsubscribe.end) {
          this.violation("DebugUnsubscribe is too short");
          return;
        }
        this.host.gate.unsubscribe(this, u32(m, F.debugUnsubscribe.subscription));
        return;
      case MessageType.DebugVerdict:
        if (m.length < F.debugVerdict.end) {
          this.violation("DebugVerdict is too short");
          return;
        }
        this.host.gate.verdict(this, u32(m, F.debugVerdict.event), m[F.debugVerdict.action]!);
        return;
      case MessageType.DebugRelease:
        if (m.length < F.debugRelease.end) {
          this.violation("DebugRelease is too short");
          return;
        }
        this.host.gate.release(this, u32(m, F.debugRelease.event));
        return;
      default: {
        this.violation(`unknown message type 0x${type.toString(16)}`);
        return;
      }
    }
  }

  private hello(m: Uint8Array): void {
    const version = u16(m, F.hello.version);
    this.pid = u32(m, F.hello.pid);
    if (version !== PROTOCOL_VERSION) {
      this.goodbye(
        GoodbyeReason.Version,
        `the daemon speaks protocol version ${PROTOCOL_VERSION} and the client ${version}; use the same @userstack/daemon version on both sides`,
      );
      return;
    }
    this.greeted = true;
    const W = F.welcome;
    const b = this.writer.begin(MessageType.Welcome, W.end);
    const bytes = this.writer.bytes;
    put16(bytes, b + W.version, PROTOCOL_VERSION);
    put32(bytes, b + W.address, this.host.localAddress);
    put32(bytes, b + W.pid, this.host.pid);
    put32(bytes, b + W.sendBuffer, this.host.tcpDefaults.sendBufferSize);
    put32(bytes, b + W.receiveBuffer, this.host.tcpDefaults.receiveBufferSize);
  }

  private open(m: Uint8Array): void {
    const O = F.open;
    if (m.length < O.json || m.length < O.json + u16(m, O.jsonLength)) {
      this.violation("Open is too short");
      return;
    }
    const h = u32(m, O.handle);
    if (h === 0 || h & DAEMON_HANDLE || this.sockets.has(h) || this.listeners.has(h)) {
      this.violation(`Open with handle ${h}, which is invalid or in use`);
      return;
    }
    const tcp = this.tcpOptions(m, O.jsonLength, O.json);
    if (typeof tcp === "string") {
      this.failed(h, "EINVAL", tcp);
      return;
    }
    if (this.sockets.size + this.listeners.size >= MAX_HANDLES) {
      this.failed(h, "EADDRNOTAVAIL", `this client holds ${MAX_HANDLES} sockets already`);
      return;
    }
    let ep: Endpoint;
    try {
      const localPort = u16(m, O.localPort);
      ep = this.host.open({
        remoteAddress: u32(m, O.address),
        remotePort: u16(m, O.remotePort),
        localPort: localPort === 0 ? undefined : localPort,
        tcp,
      });
    } catch (e) {
      this.failedWith(h, e);
      return;
    }
    const bufferSize = tcp.sendBufferSize ?? this.host.tcpDefaults.sendBufferSize;
    const s = new DaemonSocket(this, h, ep, bufferSize, Math.max(1, u32(m, O.readWindow)));
    this.sockets.set(h, s);
    const b = this.writer.begin(MessageType.Opened, F.opened.end);
    put32(this.writer.bytes, b + F.opened.handle, h);
    put32(this.writer.bytes, b + F.opened.address, ep.localAddress);
    put16(this.writer.bytes, b + F.opened.port, ep.localPort);
    s.service();
  }

  private listen(m: Uint8Array): void {
    const L = F.listen;
    if (m.length < L.json || m.length < L.json + u16(m, L.jsonLength)) {
      this.violation("Listen is too short");
      return;
    }
    const h = u32(m, L.handle);
    if (h === 0 || h & DAEMON_HANDLE || this.sockets.has(h) || this.listeners.has(h)) {
      this.violation(`Listen with handle ${h}, which is invalid or in use`);
      return;
    }
    const tcp = this.tcpOptions(m, L.jsonLength, L.json);
    if (typeof tcp === "string") {
      this.failed(h, "EINVAL", tcp);
      return;
    }
    if (this.sockets.size + this.listeners.size >= MAX_HANDLES) {
      this.failed(h, "EADDRNOTAVAIL", `this client holds ${MAX_HANDLES} sockets already`);
      return;
    }
    const wire = u16(m, L.backlog);
    const backlog = wire === 0xffff ? undefined : wire;
    let le: ListenerHandle;
    try {
      le = this.host.listen({ port: u16(m, L.port), address: u32(m, L.address), backlog, tcp });
    } catch (e) {
      this.failedWith(h, e);
      return;
    }
    const bufferSize = tcp.sendBufferSize ?? this.host.tcpDefaults.sendBufferSize;
    const credit = Math.max(1, Math.min(backlog ?? 128, 128));
    const l = new DaemonListener(this, h, le, credit, Math.max(1, u32(m, L.readWindow)), bufferSize, (x) =>
      this.host.accept(x),
    );
    this.listeners.set(h, l);
    const b = this.writer.begin(MessageType.Listening, F.listening.end);
    put32(this.writer.bytes, b + F.listening.handle, h);
    put32(this.writer.bytes, b + F.listening.address, le.localAddress);
    put16(this.writer.bytes, b + F.listening.port, le.localPort);
  }

  private onHandle(type: number, m: Uint8Array): void {
    if (m.length < F.handle.end) {
      this.violation("a handle message is too short");
      return;
    }
    const h = u32(m, F.handle.handle);
    if (type === MessageType.Unlisten) {
      const l = this.listeners.get(h);
      if (l === undefined) return;
      this.listeners.delete(h);
      l.le.owner = undefined;
      this.host.unlisten(l.le);
      return;
    }
    const s = this.sockets.get(h);
    if (type === MessageType.Status) {
      this.reply(MessageType.StatusReply, h, JSON.stringify(s?.ep.status() ?? null));
      return;
    }
    if (s === undefined) return;
    if (type === MessageType.Shutdown) s.shutdown();
    else s.finish(type === MessageType.Abort ? "abort" : "close");
  }

  private tcpOptions(m: Uint8Array, lengthAt: number, at: number): Partial<TcpConfig> | string {
    const n = u16(m, lengthAt);
    const parsed = parseTcpOptions(new TextDecoder().decode(m.subarray(at, at + n)));
    if (typeof parsed === "string") return parsed;
    try {
      resolveTcpConfig(parsed, this.host.tcpDefaults);
    } catch (e) {
      return (e as Error).message;
    }
    return parsed;
  }

  private reply(type: number, id: number, json: string): void {
    const t = new TextEncoder().encode(json);
    const b = this.writer.begin(type, F.request.json + t.length);
    put32(this.writer.bytes, b + F.request.id, id);
    this.writer.bytes.set(t, b + F.request.json);
  }

  private failedWith(handle: number, e: unknown): void {
    const err = e as Partial<SocketError> & Error;
    // A SocketError's message ends with its hint in parentheses; the client rebuilds the rest.
    const hint = /\(([^()]*)\)$/.exec(err.message ?? "")?.[1] ?? String(err.message);
    this.failed(handle, err.code ?? "EINVAL", hint);
  }

  private failed(handle: number, code: string, hint: string): void {
    const t = new TextEncoder().encode(hint);
    const b = this.writer.begin(MessageType.Failed, F.failed.end + t.length);
    put32(this.writer.bytes, b + F.failed.handle, handle);
    this.writer.bytes[b + F.failed.error] = errorCode(code);
    this.writer.bytes.set(t, b + F.failed.hint);
  }

  private violation(why: string): void {
    this.host.countViolation();
    this.goodbye(GoodbyeReason.Violation, `protocol violation: ${why}`);
  }

  /** The client is gone: reset its sockets, close its listeners, end its debug subscriptions. */
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.reader.stop();
    this.writer.close();
    let released = 0;
    for (const s of [...this.sockets.values()]) if (s.release()) released++;
    this.sockets.clear();
    for (const l of this.listeners.values()) {
      l.le.owner = undefined;
      this.host.unlisten(l.le);
    }
    this.listeners.clear();
    this.host.gate.removeSubscriber(this);
    this.host.sessionEnded(this, released);
  }
}
