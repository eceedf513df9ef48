import { formatIpv4, parseIpv4 } from "@userstack/ipv4";
import type { Clock } from "@userstack/link";
import {
  closedPortReply,
  decodeTcpAt,
  type TcpConfig,
  type TcpConnection,
  TcpEngine,
  TcpInput,
  TcpSegmentOut,
  type TcpSink,
  type TcpStatus,
  TcpView,
} from "@userstack/tcp";
import { DecodeError } from "@userstack/wire";
import { pickEphemeralPort } from "./ephemeral-ports.js";
import { ArgumentError, SocketError } from "./errors.js";
import type { InterfaceInfo, NetworkPath, PathReceiver } from "./network-path.js";
import type { ListenerHandle, ListenOptions, OpenOptions, SocketHost } from "./socket-host.js";
import { ListenerEndpoint, TcpEndpoint } from "./tcp-endpoint.js";
import { type Timed, TimerQueue } from "./timer-queue.js";

/** Something the stack reports to a {@link StackOptions.logger}. Off unless a logger is given. */
export type StackLogEvent =
  | { kind: "state"; time: number; connection: string; from: string; to: string }
  | { kind: "drop"; time: number; layer: string; reason: string }
  | { kind: "info"; time: number; message: string };

/** One row of {@link Stack.stats}: a connection as `ss -ti` shows it. */
export interface ConnectionInfo extends TcpStatus {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/** Stack-wide counters of what was received and what was dropped, by reason. */
export interface StackCounters {
  tcpSegmentsIn: number;
  tcpMalformed: number;
  tcpResetsSent: number;
  tcpNoListener: number;
  [key: string]: number;
}

const IDLE_ROUNDS_LIMIT = 10_000;

/**
 * The stack core: TCP over a {@link NetworkPath}, one timer queue, and the tables that map
 * segments to connections. It is driven by two things only — input batches from the path and its
 * timer — and processes a batch, then sends its output once. The socket faces (Node, web, BSD)
 * sit on top of it; `createStack()` builds one.
 */
export class StackCore implements PathReceiver, SocketHost {
  readonly tcp: TcpEngine;
  readonly counters: StackCounters = {
    tcpSegmentsIn: 0,
    tcpMalformed: 0,
    tcpResetsSent: 0,
    tcpNoListener: 0,
  };
  private readonly timers: TimerQueue;
  /** remote address → (localPort << 16 | remotePort) → endpoint. */
  private readonly table = new Map<number, Map<number, TcpEndpoint>>();
  private connectionCount = 0;
  /** Local port → connections using it, for picking free ports. */
  private readonly localPorts = new Map<number, number>();
  private readonly listeners = new Map<number, ListenerEndpoint>();
  private dirty: (TcpEndpoint | ListenerEndpoint)[] = [];
  private spare: (TcpEndpoint | ListenerEndpoint)[] = [];
  private batchTime = -1;
  private flushing = false;
  private flushScheduled = false;
  private closed = false;
  private readonly rst = new TcpSegmentOut();
  /** One view reused for every received segment: the engine keeps nothing of it after input. */
  private readonly view = new TcpView(new Uint8Array(0), 0);
  private readonly sink: TcpSink;
  private readonly notices: (TcpEndpoint | ListenerEndpoint)[] = [];
  private path!: NetworkPath;

  constructor(
    readonly clock: Clock,
    tcp: Partial<TcpConfig> = {},
    private readonly logger?: (e: StackLogEvent) => void,
  ) {
    this.tcp = new TcpEngine(tcp);
    this.timers = new TimerQueue(clock, (now) => this.onTimer(now));
    this.sink = (seg) => this.path.sendTcp(seg);
  }

  /** Connects the stack to its network path (done once by `createStack`). */
  attachPath(path: NetworkPath): void {
    this.path = path;
  }

  /** Our IPv4 address as a number. */
  get localAddress(): number {
    return this.path.localAddress;
  }

  /** The time of the batch in progress, or the clock's time outside a batch. */
  now(): number {
    return this.batchTime >= 0 ? this.batchTime : this.clock.now();
  }

  /** Starts a batch at the clock's current time unless one is running. */
  beginBatch(): number {
    if (this.batchTime < 0) this.batchTime = this.clock.now();
    return this.batchTime;
  }

  // ---- connections ----

  /** Active open: a connection in SYN-SENT, registered, its SYN sent by the next flush. */
  open(o: OpenOptions): TcpEndpoint {
    this.assertOpen("connect");
    const local = this.path.localAddress;
    const routeError = this.path.routeError(o.remoteAddress);
    if (routeError !== undefined)
      throw new SocketError(routeError, "connect", formatIpv4(o.remoteAddress), o.remotePort);
    let port = o.localPort ?? 0;
    if (port === 0) {
      port = pickEphemeralPort(
        (p) => this.lookup(o.remoteAddress, p, o.remotePort) !== undefined || this.listeners.has(p),
      );
      if (port < 0)
        throw new SocketError(
          "EADDRNOTAVAIL",
          "connect",
          formatIpv4(o.remoteAddress),
          o.remotePort,
          "every ephemeral port toward this peer is in use",
        );
    } else if (this.lookup(o.remoteAddress, port, o.remotePort) !== undefined) {
      throw new SocketError("EADDRINUSE", "connect", formatIpv4(local), port);
    }
    const mtu = this.path.mtu(o.remoteAddress);
    const config = { mtu, ...o.tcp };
    const conn = this.tcp.connect(this.now(), local, port, o.remoteAddress, o.remotePort, config);
    const ep = this.register(conn);
    this.kick(ep);
    return ep;
  }

  /** Passive open on a port (0: a free ephemeral one); EADDRINUSE when something listens there already. */
  listen(o: ListenOptions): ListenerEndpoint {
    this.assertOpen("listen");
    if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
      throw new SocketError("EINVAL", "listen", undefined, undefined, `port ${o.port} is not 0 to 65535`);
    }
    const port = o.port === 0 ? this.freePort() : o.port;
    if (this.listeners.has(port))
      throw new SocketError("EADDRINUSE", "listen", formatIpv4(o.address ?? 0), port);
    const config: Partial<TcpConfig> = { mtu: this.path.mtu(0), ...o.tcp };
    if (o.backlog !== undefined) config.backlog = o.backlog;
    const le = new ListenerEndpoint(this, this.tcp.listen(o.address ?? 0, port, config));
    this.listeners.set(port, le);
    return le;
  }

  /** Takes the next established connection off a listener's accept queue. */
  accept(le: ListenerEndpoint): TcpEndpoint | undefined {
    for (;;) {
      const c = le.listener.accept();
      if (c === undefined) return undefined;
      const ep = this.lookup(c.remoteAddress, c.localPort, c.remotePort);
      if (ep !== undefined && ep.conn === c && c.state !== "CLOSED") return ep;
    }
  }

  /** Stops listening; connections not yet accepted are reset. */
  unlisten(handle: ListenerHandle): void {
    const le = handle as ListenerEndpoint;
    if (this.listeners.get(le.listener.localPort) !== le) return;
    this.listeners.delete(le.listener.localPort);
    for (const c of le.listener.close(this.now())) {
      const ep = this.lookup(c.remoteAddress, c.localPort, c.remotePort);
      if (ep !== undefined) this.kick(ep);
    }
    this.timers.schedule(le, undefined);
  }

  /** The connection table, like `ss -ti`. */
  stats(): ConnectionInfo[] {
    const rows: ConnectionInfo[] = [];
    for (const inner of this.table.values()) {
      for (const ep of inner.values()) {
        const c = ep.conn;
        // status() returns a fresh fixed-shape object; adding the addresses to it is far cheaper
        // than spreading it into a new one (V8 builds large spreads slowly).
        const row = c.status() as ConnectionInfo;
        row.localAddress = formatIpv4(c.localAddress);
        row.localPort = c.localPort;
        row.remoteAddress = formatIpv4(c.remoteAddress);
        row.remotePort = c.remotePort;
        rows.push(row);
      }
    }
    return rows;
  }

  /** A free port for a listener (port 0): ephemeral, unused by listeners and connections. */
  freePort(): number {
    const port = pickEphemeralPort((p) => this.listeners.has(p) || this.localPorts.has(p));
    if (port < 0) throw new SocketError("EADDRINUSE", "listen", undefined, 0, "no ephemeral port is free");
    return port;
  }

  /** Puts a glue-level timer (a socket's idle timeout…) on the stack's timer queue. */
  schedule(t: Timed, at: number | undefined): void {
    this.timers.schedule(t, at);
  }

  /** The interface below TCP, its addresses and every counter of its layers (like `ip -s addr`). */
  interfaces(): InterfaceInfo[] {
    const info = this.path.info();
    info.counters = { ...info.counters, ...prefixed("tcp", this.counters) };
    return [info];
  }

  /**
   * Sends an ICMP echo request and resolves with the round-trip time: `await stack.ping("10.0.0.1")`.
   * Rejects with ETIMEDOUT when no reply comes in `timeoutMs`, ENETUNREACH without a route.
   */
  ping(
    host: string | number,
    options: { size?: number; timeoutMs?: number } = {},
  ): Promise<{ rttMs: number; bytes: number; ttl: number }> {
    const dst = typeof host === "number" ? host : parseIpv4(host);
    if (dst === undefined) {
      return Promise.reject(
        new ArgumentError(
          `ping(): "${host}" is not an IPv4 address; pass dotted-quad text such as "10.0.0.1".`,
        ),
      );
    }
    if (this.path.ping === undefined) {
      return Promise.reject(
        new SocketError(
          "EINVAL",
          "ping",
          formatIpv4(dst),
          undefined,
          "this stack's network layer carries no ICMP",
        ),
      );
    }
    const size = options.size ?? 56;
    if (!Number.isInteger(size) || size < 0 || size > 65507) {
      return Promise.reject(new ArgumentError(`ping(): size must be 0 to 65507 bytes, got ${size}.`));
    }
    return this.path.ping(dst, size, options.timeoutMs ?? 1000);
  }

  /** Connections in the table (every state but CLOSED). */
  get connections(): number {
    return this.connectionCount;
  }

  // ---- input from the path ----

  tcpSegment(source: number, destination: number, data: Uint8Array, start: number, end: number): void {
    const now = this.beginBatch();
    this.counters.tcpSegmentsIn++;
    const seg = decodeTcpAt(data, start, end, source, destination, this.view);
    if (seg instanceof DecodeError) {
      this.counters.tcpMalformed++;
      this.log("drop", "tcp", seg.reason);
      return;
    }
    const ep = this.lookup(source, seg.destinationPort, seg.sourcePort);
    if (ep !== undefined) {
      const r = ep.conn.input(seg, now);
      this.kick(ep);
      if (ep.conn.parent !== undefined) this.kickListener(ep.conn.localPort);
      if (r !== TcpInput.Reopen) return;
      this.unregister(ep); // TIME-WAIT ended by a new SYN: the listener takes it (RFC 6191)
    }
    const le = this.listeners.get(seg.destinationPort);
    if (le !== undefined && (le.listener.localAddress === 0 || le.listener.localAddress === destination)) {
      const c = le.listener.input(seg, now, source, destination);
      if (c !== undefined) this.kick(this.register(c));
      this.kick(le);
      return;
    }
    // RFC 9293 §3.10.7.1: no connection, no listener: reset (never for a reset).
    this.counters.tcpNoListener++;
    if (closedPortReply(seg, source, destination, this.rst)) {
      this.counters.tcpResetsSent++;
      this.path.sendTcp(this.rst);
    }
  }

  tcpIcmpError(
    kind: Parameters<TcpConnection["icmpError"]>[0],
    localPort: number,
    remoteAddress: number,
    remotePort: number,
    seq: number,
    mtu: number,
  ): void {
    const ep = this.lookup(remoteAddress, localPort, remotePort);
    if (ep === undefined) return;
    if (ep.conn.icmpError(kind, seq, this.beginBatch(), mtu)) this.kick(ep);
  }

  /** The end of an input batch: run the engines, send the output, deliver the events. */
  flush(): void {
    if (this.flushing || this.closed) return;
    this.flushing = true;
    const now = this.beginBatch();
    try {
      for (let round = 0; this.dirty.length > 0; round++) {
        if (round > IDLE_ROUNDS_LIMIT)
          throw new Error("userstack: a socket keeps re-queuing itself in one flush");
        const list = this.dirty;
        this.dirty = this.spare;
        this.spare = list;
        for (let i = 0; i < list.length; i++) {
          const t = list[i]!;
          t.dirty = false;
          if (t instanceof TcpEndpoint) this.service(t, now);
          else this.serviceListener(t, now);
        }
        list.length = 0;
        this.deliverNotices();
      }
      this.path.flush();
    } finally {
      this.flushing = false;
      this.batchTime = -1;
    }
    this.timers.rearm();
  }

  /** Queues an endpoint for the next flush; outside a batch, schedules one soon (a microtask). */
  kick(t: TcpEndpoint | ListenerEndpoint): void {
    if (!t.dirty) {
      t.dirty = true;
      this.dirty.push(t);
    }
    if (!this.flushing && this.batchTime < 0 && !this.flushScheduled && !this.closed) {
      this.flushScheduled = true;
      queueMicrotask(this.scheduledFlush);
    }
  }

  /** Stops every timer and connection; later calls fail with a clear error. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const le of [...this.listeners.values()]) this.unlisten(le);
    for (const inner of this.table.values())
      for (const ep of inner.values()) if (ep.conn.state !== "TIME-WAIT") ep.abort();
    this.flush();
    this.closed = true;
    this.timers.close();
    await this.path.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- internals ----

  private readonly scheduledFlush = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private onTimer(now: number): void {
    if (this.closed) return;
    this.batchTime = now;
    this.timers.runDue(now);
    this.flush();
  }

  private service(ep: TcpEndpoint, now: number): void {
    const c = ep.conn;
    c.dispatch(now, this.sink);
    const events = c.takeEvents();
    if (c.state !== ep.lastState) {
      if (this.logger)
        this.log(
          "state",
          `${c.localPort}>${formatIpv4(c.remoteAddress)}:${c.remotePort}`,
          ep.lastState,
          c.state,
        );
      ep.lastState = c.state;
    }
    if (c.state === "CLOSED") {
      this.timers.schedule(ep, undefined);
      this.unregister(ep);
    } else {
      this.timers.schedule(ep, c.deadline());
    }
    if (events !== 0 && ep.owner !== undefined) {
      if (ep.pendingEvents === 0) this.notices.push(ep);
      ep.pendingEvents |= events;
    }
  }

  private serviceListener(le: ListenerEndpoint, now: number): void {
    const l = le.listener;
    l.dispatch(now, this.sink);
    const events = l.takeEvents();
    this.timers.schedule(le, l.deadline());
    if (events !== 0 && le.owner !== undefined) {
      if (le.pendingEvents === 0) this.notices.push(le);
      le.pendingEvents |= events;
    }
  }

  /** Calls the faces after the engines ran; an exception in user code surfaces on its own, later. */
  private deliverNotices(): void {
    const n = this.notices;
    for (let i = 0; i < n.length; i++) {
      const x = n[i]!;
      const events = x.pendingEvents;
      x.pendingEvents = 0;
      try {
        if (x instanceof TcpEndpoint) x.owner?.onTcpEvents(events);
        else x.owner?.onAcceptable();
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
    n.length = 0;
  }

  private kickListener(port: number): void {
    const le = this.listeners.get(port);
    if (le !== undefined) this.kick(le);
  }

  private lookup(remote: number, localPort: number, remotePort: number): TcpEndpoint | undefined {
    return this.table.get(remote)?.get(((localPort << 16) | remotePort) >>> 0);
  }

  private register(c: TcpConnection): TcpEndpoint {
    const ep = new TcpEndpoint(this, c);
    let inner = this.table.get(c.remoteAddress);
    if (inner === undefined) {
      inner = new Map();
      this.table.set(c.remoteAddress, inner);
    }
    inner.set(((c.localPort << 16) | c.remotePort) >>> 0, ep);
    this.connectionCount++;
    this.localPorts.set(c.localPort, (this.localPorts.get(c.localPort) ?? 0) + 1);
    return ep;
  }

  private unregister(ep: TcpEndpoint): void {
    if (!ep.registered) return;
    ep.registered = false;
    const c = ep.conn;
    const inner = this.table.get(c.remoteAddress);
    const key = ((c.localPort << 16) | c.remotePort) >>> 0;
    if (inner?.get(key) === ep) {
      inner.delete(key);
      if (inner.size === 0) this.table.delete(c.remoteAddress);
      this.connectionCount--;
      const uses = (this.localPorts.get(c.localPort) ?? 1) - 1;
      if (uses === 0) this.localPorts.delete(c.localPort);
      else this.localPorts.set(c.localPort, uses);
    }
  }

  private assertOpen(syscall: string): void {
    if (this.closed)
      throw new SocketError("ESHUTDOWN", syscall, undefined, undefined, "the stack was closed");
  }

  private log(kind: "state" | "drop", a: string, b: string, c?: string): void {
    if (!this.logger) return;
    const time = this.now();
    if (kind === "state") this.logger({ kind, time, connection: a, from: b, to: c! });
    else this.logger({ kind, time, layer: a, reason: b });
  }
}

export type { Timed };

function prefixed(layer: string, o: object): Record<string, number> {
  const r: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === "number") r[`${layer}.${k}`] = v;
  return r;
}
