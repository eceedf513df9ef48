import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { formatIpv4, parseIpv4 } from "@userstack/ipv4";
import { type Clock, type NetworkLayer, type NetworkReceiver, realClock } from "@userstack/link";
import type { PcapWriter } from "@userstack/pcap";
import { TCP_PROTOCOL, verifyTcpChecksum } from "@userstack/tcp";
import { u16 } from "@userstack/wire";
import {
  CHITCP_HEADER_LENGTH,
  ChitcpProtocol,
  decodeHello,
  encodeHello,
  HELLO_LENGTH,
} from "./chitcp-header.js";
import { FlowTable } from "./flow-table.js";
import type { StreamFault } from "./frame-reader.js";
import { NetworkCapture, rawIpWriter } from "./network-capture.js";
import { type ConnectionEvents, TunnelConnection } from "./tunnel-connection.js";
import { listenError, streamFaultMessage, unreachableMessage } from "./tunnel-messages.js";
import {
  CHITCP_MAX_SEGMENT,
  CHITCP_PATH_MTU,
  DEFAULT_TUNNEL_PORT,
  type TunnelLogEvent,
  type TunnelMode,
  type TunnelOptions,
  type TunnelRoute,
  USERSTACK_MAX_SEGMENT,
} from "./tunnel-options.js";

/** Counters of a {@link Tunnel}. */
export interface TunnelStats {
  segmentsSent: number;
  segmentsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  connectionsDialed: number;
  connectionsAccepted: number;
  /** Connections that closed or failed (a peer that went away, a connect that failed). */
  connectionsLost: number;
  /** Connections dropped because their stream broke the protocol (unknown protocol, oversize length, truncated, no hello). */
  connectionsRefused: number;
  /** Connections ended because both sides dialed at once and the other connection was kept. */
  duplicateConnections: number;
  dropped: {
    /** Segments longer than the mode allows, on send. */
    oversize: number;
    /** Segments for a peer that could not be reached (or during the retry delay after a failure). */
    unreachable: number;
    /** Segments refused because `maxBufferedBytes` were already waiting on the connection. */
    congested: number;
    /** `send` with a protocol other than TCP. */
    unsupportedProtocol: number;
    /** Received segments whose TCP checksum did not verify. */
    badChecksum: number;
    /** Received segments shorter than a TCP header. */
    runt: number;
    /** Received segments while no receiver was attached. */
    noReceiver: number;
  };
}

/** What {@link Tunnel.peers} reports per peer. */
export interface TunnelPeerInfo {
  /** `address:port` of the peer's tunnel (the port is the one dialed, or announced in its hello). */
  endpoint: string;
  state: "connecting" | "open" | "idle" | "retry-wait";
  /** True when this side dialed the live connection. */
  dialed: boolean;
  segmentsSent: number;
  segmentsReceived: number;
  /** The last failure, as logged. */
  lastError?: string;
}

class Peer {
  conn: TunnelConnection<Peer> | undefined;
  retryAt = Number.NEGATIVE_INFINITY;
  lastError: string | undefined;
  sent = 0;
  received = 0;
  constructor(
    readonly key: number,
    readonly address: number,
    /** The port to dial: the peer's listening port. */
    readonly port: number,
  ) {}
  get endpoint(): string {
    return `${formatIpv4(this.address)}:${this.port}`;
  }
}

interface RouteEntry {
  any?: number;
  byTcpPort: Map<number, number>;
}

/** `address * 65536 + port`: one number per tunnel endpoint, ordered by address then port. */
function endpointKey(address: number, port: number): number {
  return address * 65536 + port;
}

function parseAddress(text: string, what: string): number {
  const a = parseIpv4(text);
  if (a === undefined)
    throw new TypeError(
      `userstack tunnel: ${what} "${text}" is not an IPv4 address; write it dotted, like 127.0.0.1`,
    );
  return a;
}

/**
 * chiTCP's network layer, done as a userstack {@link NetworkLayer}: TCP segments travel between
 * hosts inside real TCP connections (one per peer host, opened on first use, accepted from either
 * side), each behind chiTCP's 16-byte header. The emulated network's addresses are the hosts' real
 * addresses, so a stack on top uses this in place of IPv4-over-a-link.
 *
 * Create it with {@link createTunnel}, which listens before it returns.
 */
export class Tunnel implements NetworkLayer {
  readonly mode: TunnelMode;
  /** This host's address, as a number (the emulated network's address too). */
  readonly localAddress: number;
  /** This host's address, dotted. */
  readonly address: string;
  readonly stats: TunnelStats = {
    segmentsSent: 0,
    segmentsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    connectionsDialed: 0,
    connectionsAccepted: 0,
    connectionsLost: 0,
    connectionsRefused: 0,
    duplicateConnections: 0,
    dropped: {
      oversize: 0,
      unreachable: 0,
      congested: 0,
      unsupportedProtocol: 0,
      badChecksum: 0,
      runt: 0,
      noReceiver: 0,
    },
  };
  private listenPort: number;
  private readonly peerPort: number;
  private readonly maxSegment: number;
  private readonly connectTimeoutMs: number;
  private readonly retryDelayMs: number;
  private readonly maxBufferedBytes: number;
  private readonly clock: Clock;
  private readonly logger: ((e: TunnelLogEvent) => void) | undefined;
  private readonly peersByKey = new Map<number, Peer>();
  private readonly connections = new Set<TunnelConnection<Peer>>();
  private readonly routes = new Map<number, RouteEntry>();
  private readonly flows: FlowTable<Peer>;
  private readonly capture: NetworkCapture | undefined;
  private readonly captureOwned: boolean;
  private receiver: NetworkReceiver | undefined;
  private server: Server | undefined;
  private closing = false;
  private readonly loopback: Uint8Array[] = [];
  private loopbackQueued = false;
  private loopbackBytes = 0;

  constructor(options: TunnelOptions = {}) {
    this.mode = options.mode ?? "userstack";
    this.address = options.address ?? "127.0.0.1";
    this.localAddress = parseAddress(this.address, "address");
    this.listenPort = options.port ?? DEFAULT_TUNNEL_PORT;
    this.peerPort = options.peerPort ?? DEFAULT_TUNNEL_PORT;
    this.maxSegment = this.mode === "chitcp" ? CHITCP_MAX_SEGMENT : USERSTACK_MAX_SEGMENT;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 8 * 1024 * 1024;
    this.clock = options.clock ?? realClock();
    this.flows = new FlowTable(options.flowIdleMs ?? 600_000, options.maxFlows ?? 65536);
    this.logger =
      options.log === false
        ? undefined
        : (options.log ?? ((e) => (e.level === "warn" ? console.warn(e.message) : undefined)));
    for (const r of options.routes ?? []) this.addRoute(r);
    if (options.capture) {
      const { writer, owned } = rawIpWriter(options.capture);
      this.capture = new NetworkCapture(writer, this.clock);
      this.captureOwned = owned;
    } else this.captureOwned = false;
  }

  /** The port the tunnel listens on (the one picked when 0 was asked for). */
  get port(): number {
    return this.listenPort;
  }

  /** Real connections open and not closing (one per connected peer once things settle). */
  get openConnections(): number {
    let n = 0;
    for (const c of this.connections) if (!c.ending) n++;
    return n;
  }

  /** The capture's writer, when capturing. */
  get captureWriter(): PcapWriter | undefined {
    return this.capture?.writer;
  }

  /**
   * Starts listening. Rejects with an error carrying Node's code (`EADDRINUSE`, `EADDRNOTAVAIL`,
   * `EACCES`) and one sentence saying what to do.
   */
  listen(): Promise<void> {
    if (this.server) return Promise.resolve();
    const server = createServer({ noDelay: true }, this.onAccept);
    server.maxConnections = 4096;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", (e: Error & { code?: string }) => {
        this.server = undefined;
        reject(listenError(e, this.address, this.listenPort));
      });
      server.listen({ host: this.address, port: this.listenPort, exclusive: true }, () => {
        const a = server.address();
        if (a && typeof a === "object") this.listenPort = a.port;
        server.on("error", () => {}); // after listening, errors are per connection
        this.log(
          "info",
          "listening",
          `userstack tunnel (${this.mode} mode) listening on ${this.address}:${this.listenPort}`,
        );
        resolve();
      });
    });
  }

  /** The largest segment that reaches `destination`: 65515 in userstack mode, 556 (MSS 536) in chiTCP mode. */
  pathMtu(_destination: number): number {
    return this.mode === "chitcp" ? CHITCP_PATH_MTU : USERSTACK_MAX_SEGMENT;
  }

  /**
   * Sends a segment to the peer `destination` resolves to (see the README: a learned flow, then a
   * route for the TCP port, then a route for the address, then `peerPort`). Never throws: a segment
   * that cannot go is counted and lost, for TCP to repair.
   */
  send(destination: number, protocol: number, segment: Uint8Array): void {
    if (!this.admit(protocol, segment)) return;
    this.deliver(this.resolve(destination, segment), segment);
  }

  /** Sends a segment to the tunnel at `address:port` explicitly (port defaults to `peerPort`). */
  sendTo(endpoint: { address: number | string; port?: number }, protocol: number, segment: Uint8Array): void {
    if (!this.admit(protocol, segment)) return;
    const address =
      typeof endpoint.address === "number"
        ? endpoint.address
        : parseAddress(endpoint.address, "peer address");
    this.deliver(this.peerFor(address, endpoint.port ?? this.routePort(address, -1)), segment);
  }

  attach(receiver: NetworkReceiver): void {
    this.receiver = receiver;
  }

  /** Adds (or replaces) a static route. */
  addRoute(route: TunnelRoute): void {
    const address = parseAddress(route.address, "route address");
    let e = this.routes.get(address);
    if (!e) this.routes.set(address, (e = { byTcpPort: new Map() }));
    if (route.tcpPort === undefined) e.any = route.port;
    else e.byTcpPort.set(route.tcpPort, route.port);
  }

  /** The peers this tunnel knows, with their connection state. */
  peers(): TunnelPeerInfo[] {
    const now = this.clock.now();
    return [...this.peersByKey.values()].map((p) => ({
      endpoint: p.endpoint,
      state: p.conn ? (p.conn.established ? "open" : "connecting") : now < p.retryAt ? "retry-wait" : "idle",
      dialed: p.conn?.dialed ?? false,
      segmentsSent: p.sent,
      segmentsReceived: p.received,
      ...(p.lastError ? { lastError: p.lastError } : {}),
    }));
  }

  /**
   * Cuts the real connection to a peer at once, as a network failure would (for tests and
   * teaching). Segments in flight are lost; the next segment to that peer reconnects.
   */
  disconnect(endpoint: { address: number | string; port?: number }): boolean {
    const address =
      typeof endpoint.address === "number"
        ? endpoint.address
        : parseAddress(endpoint.address, "peer address");
    const p = this.peersByKey.get(this.keyOf(address, endpoint.port ?? this.peerPort));
    if (!p?.conn) return false;
    p.conn.destroy("disconnected on request");
    return true;
  }

  /** Stops listening, closes every connection, ends the capture. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const closed = [...this.connections].map(
      (c) =>
        new Promise<void>((resolve) => (c.closedDown ? resolve() : c.socket.once("close", () => resolve()))),
    );
    for (const c of this.connections) c.destroy("tunnel closed");
    const server = this.server;
    await Promise.all([
      ...closed,
      new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
    ]);
    if (this.capture) {
      if (this.captureOwned) await this.capture.writer.close();
      else this.capture.writer.flush();
    }
  }

  // --- sending ---------------------------------------------------------------------------------

  private admit(protocol: number, segment: Uint8Array): boolean {
    if (this.closing) return false;
    if (protocol !== TCP_PROTOCOL) {
      this.stats.dropped.unsupportedProtocol++;
      return false;
    }
    if (segment.length > this.maxSegment) {
      this.stats.dropped.oversize++;
      this.log(
        "debug",
        "dropped-segment",
        `segment of ${segment.length} bytes dropped: ${this.mode} mode carries at most ${this.maxSegment}`,
      );
      return false;
    }
    return true;
  }

  /** The route's port for `address` and TCP port `tcpPort` (-1: any), or `peerPort`. */
  private routePort(address: number, tcpPort: number): number {
    const r = this.routes.get(address);
    return (tcpPort >= 0 ? r?.byTcpPort.get(tcpPort) : undefined) ?? r?.any ?? this.peerPort;
  }

  private resolve(destination: number, segment: Uint8Array): Peer {
    if (this.mode === "userstack" && segment.length >= 4) {
      const localPort = u16(segment, 0);
      const remotePort = u16(segment, 2);
      const flow = this.flows.lookup(destination, remotePort, localPort, this.clock.now());
      if (flow) return flow;
      return this.peerFor(destination, this.routePort(destination, remotePort));
    }
    return this.peerFor(destination, this.routePort(destination, -1));
  }

  /** Peers are keyed by address and port in userstack mode, by address alone in chiTCP mode. */
  private keyOf(address: number, port: number): number {
    return this.mode === "chitcp" ? endpointKey(address, 0) : endpointKey(address, port);
  }

  private peerFor(address: number, port: number): Peer {
    const key = this.keyOf(address, port);
    let p = this.peersByKey.get(key);
    if (!p) this.peersByKey.set(key, (p = new Peer(key, address, port)));
    return p;
  }

  private isSelf(p: Peer): boolean {
    return p.address === this.localAddress && p.port === this.listenPort;
  }

  private deliver(peer: Peer, segment: Uint8Array): void {
    if (this.isSelf(peer)) {
      this.loop(segment);
      return;
    }
    let conn = peer.conn;
    if (!conn) {
      if (this.clock.now() < peer.retryAt) {
        this.stats.dropped.unreachable++;
        return;
      }
      conn = this.dial(peer);
    }
    if (!conn.write(ChitcpProtocol.Tcp, segment)) {
      this.stats.dropped.congested++;
      return;
    }
    peer.sent++;
    this.stats.segmentsSent++;
    this.stats.bytesSent += segment.length;
    this.capture?.record(this.localAddress, peer.address, TCP_PROTOCOL, segment);
  }

  /** A segment to ourselves: delivered on a later turn, never inside `send`. */
  private loop(segment: Uint8Array): void {
    // Bounded like a connection's queue; recorded once, on arrival, as a capture on a loopback
    // interface shows it.
    if (this.loopbackBytes + segment.length > this.maxBufferedBytes) {
      this.stats.dropped.congested++;
      return;
    }
    this.loopbackBytes += segment.length;
    this.loopback.push(segment.slice());
    this.stats.segmentsSent++;
    this.stats.bytesSent += segment.length;
    if (this.loopbackQueued) return;
    this.loopbackQueued = true;
    setImmediate(() => {
      this.loopbackQueued = false;
      const batch = this.loopback.splice(0);
      this.loopbackBytes = 0;
      if (this.closing) return;
      for (const s of batch) this.accept(this.localAddress, undefined, s);
      this.receiver?.flush();
    });
  }

  private dial(peer: Peer): TunnelConnection<Peer> {
    this.stats.connectionsDialed++;
    const socket = netConnect({
      host: formatIpv4(peer.address),
      port: peer.port,
      localAddress: this.address,
    });
    const conn = this.track(socket, true, peer.address);
    conn.peer = peer;
    peer.conn = conn;
    if (this.mode === "userstack") {
      const hello = new Uint8Array(CHITCP_HEADER_LENGTH + HELLO_LENGTH);
      encodeHello(hello, 0, this.listenPort);
      conn.writeRaw(hello);
    }
    const timer = this.clock.setTimer(this.clock.now() + this.connectTimeoutMs, () => {
      if (!conn.established && !conn.closedDown) {
        const e = Object.assign(new Error("connect timed out"), { code: "ETIMEDOUT" });
        socket.destroy(e);
      }
    });
    socket.once("close", () => this.clock.clearTimer(timer));
    socket.once("connect", () => this.clock.clearTimer(timer));
    return conn;
  }

  // --- connections -----------------------------------------------------------------------------

  private readonly onAccept = (socket: Socket): void => {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const remote = parseIpv4(socket.remoteAddress?.replace(/^::ffff:/, "") ?? "");
    if (remote === undefined) {
      socket.destroy(); // not IPv4: cannot be a host of this network
      return;
    }
    this.stats.connectionsAccepted++;
    const conn = this.track(socket, false, remote);
    this.log(
      "debug",
      "accepted",
      `accepted a tunnel connection from ${socket.remoteAddress}:${socket.remotePort}`,
    );
    if (this.mode === "chitcp") {
      // chitcpd keys its peers by address and sends no hello: the connection is the address's.
      this.identify(conn, this.peerFor(remote, this.routePort(remote, -1)));
      return;
    }
    // Userstack mode: the dialer names its listening port first; a silent connection is dropped.
    const timer = this.clock.setTimer(this.clock.now() + this.connectTimeoutMs, () => {
      if (!conn.peer && !conn.closedDown) this.refuse(conn, "expected-hello", "sent no hello in time");
    });
    socket.once("close", () => this.clock.clearTimer(timer));
  };

  private track(socket: Socket, dialed: boolean, remote: number): TunnelConnection<Peer> {
    const conn = new TunnelConnection<Peer>(
      socket,
      dialed,
      remote,
      this.maxSegment,
      this.mode === "userstack",
      this.maxBufferedBytes,
      this.events,
    );
    this.connections.add(conn);
    return conn;
  }

  /** Binds a connection to its peer; when the peer already has one, keeps exactly one of the two. */
  private identify(conn: TunnelConnection<Peer>, peer: Peer): void {
    conn.peer = peer;
    const existing = peer.conn;
    if (!existing || existing.ending) {
      peer.conn = conn;
      return;
    }
    if (existing.dialed === conn.dialed) {
      // The peer dialed again while we still held its old connection: the old one is stale.
      peer.conn = conn;
      existing.end("replaced by a newer connection");
      return;
    }
    // Both sides dialed at once. Each side sees the same two connections and keeps the same one:
    // the one whose listening end has the smaller (address, port). Only the dialer of the other one
    // has sent on it; that dialer ends it, and its far end reads it to the end before closing.
    const listener = (c: TunnelConnection<Peer>) =>
      c.dialed ? endpointKey(peer.address, peer.port) : endpointKey(this.localAddress, this.listenPort);
    const keep = listener(existing) < listener(conn) ? existing : conn;
    const drop = keep === existing ? conn : existing;
    peer.conn = keep;
    this.stats.duplicateConnections++;
    const giveUp = this.clock.setTimer(this.clock.now() + this.connectTimeoutMs, () =>
      drop.destroy("duplicate connection"),
    );
    drop.socket.once("close", () => this.clock.clearTimer(giveUp));
    if (drop.dialed) {
      // Ours. What it has not sent yet goes first on the kept connection. What it did send, the
      // peer must read before anything on the kept connection, or segments would overtake each
      // other: hold the kept connection until the peer, having read ours to the end, closes it.
      keep.writeFramed(drop.takeQueued());
      if (drop.sentFrames) {
        keep.hold();
        drop.socket.once("close", () => keep.release());
      }
      drop.end("duplicate connection");
    }
    // Theirs: they end it once they see the same two connections; we read it to the end (the
    // timer above cuts it should they never do).
    this.log(
      "debug",
      "duplicate-connection",
      `both ends dialed ${peer.endpoint} at once; keeping the connection ${keep.dialed ? "this side" : "the peer"} dialed`,
      peer.endpoint,
    );
  }

  private refuse(conn: TunnelConnection<Peer>, code: TunnelLogEvent["code"], why: string): void {
    conn.destroy(why);
    this.stats.connectionsRefused++;
    const from = `${conn.socket.remoteAddress}:${conn.socket.remotePort}`;
    this.log("warn", code, streamFaultMessage(from, conn.peer?.endpoint, why), conn.peer?.endpoint);
  }

  private readonly events: ConnectionEvents<Peer> = {
    frame: (conn, protocol, payload) => {
      if (protocol === ChitcpProtocol.Hello) {
        if (conn.dialed || conn.peer)
          return this.refuse(conn, "bad-hello", "sent a hello in the middle of the stream");
        const port = decodeHello(payload);
        if (port === undefined) return this.refuse(conn, "bad-hello", "sent a malformed hello");
        this.identify(conn, this.peerFor(conn.remoteAddress, port));
        return;
      }
      const peer = conn.peer;
      if (!peer)
        return this.refuse(conn, "expected-hello", "sent a segment before its hello (is it in chiTCP mode?)");
      this.accept(conn.remoteAddress, peer, payload);
    },
    batchEnd: () => this.receiver?.flush(),
    fault: (conn, fault) => {
      this.stats.connectionsRefused++;
      const from = `${conn.socket.remoteAddress ?? formatIpv4(conn.remoteAddress)}:${conn.socket.remotePort ?? "?"}`;
      this.log(
        "warn",
        fault,
        streamFaultMessage(from, conn.peer?.endpoint, faultText(fault, this.maxSegment)),
        conn.peer?.endpoint,
      );
    },
    connected: (conn) => {
      const p = conn.peer;
      if (!p) return;
      p.lastError = undefined;
      p.retryAt = Number.NEGATIVE_INFINITY;
      this.log("info", "connected", `connected to the tunnel at ${p.endpoint}`, p.endpoint);
    },
    closed: (conn, error) => {
      this.connections.delete(conn);
      const p = conn.peer;
      if (!p || p.conn !== conn) return;
      p.conn = undefined;
      this.stats.connectionsLost++;
      if (this.closing) return;
      if (conn.dialed && !conn.established) {
        // The connect failed: say so once per failure streak, then wait before trying again.
        p.retryAt = this.clock.now() + this.retryDelayMs;
        const first = p.lastError === undefined;
        p.lastError = unreachableMessage(p.endpoint, error, this.connectTimeoutMs);
        this.log(first ? "warn" : "debug", "peer-unreachable", p.lastError, p.endpoint);
      } else if (!conn.reason || conn.reason === "closed by peer") {
        this.log(
          "info",
          "connection-lost",
          `the tunnel connection to ${p.endpoint} closed${error ? ` (${error.code ?? error.message})` : ""}; the next segment reconnects`,
          p.endpoint,
        );
      }
    },
  };

  /** A received segment: verify, learn its flow, hand it up. */
  private accept(source: number, peer: Peer | undefined, segment: Uint8Array): void {
    const d = this.stats.dropped;
    if (segment.length < 20) {
      d.runt++;
      return;
    }
    // chitcpd leaves the checksum zero; in chiTCP mode zero means "not computed" (as in UDP, RFC 768).
    const unchecked = this.mode === "chitcp" && segment[16] === 0 && segment[17] === 0;
    if (!unchecked && !verifyTcpChecksum(segment, source, this.localAddress)) {
      d.badChecksum++;
      this.log(
        "debug",
        "bad-checksum",
        `dropped a segment from ${peer?.endpoint ?? "self"} whose TCP checksum does not verify`,
      );
      return;
    }
    if (peer) {
      peer.received++;
      if (this.mode === "userstack")
        this.flows.learn(source, u16(segment, 0), u16(segment, 2), peer, this.clock.now());
    }
    this.stats.segmentsReceived++;
    this.stats.bytesReceived += segment.length;
    this.capture?.record(source, this.localAddress, TCP_PROTOCOL, segment);
    if (this.receiver) this.receiver.receive(source, this.localAddress, TCP_PROTOCOL, segment);
    else d.noReceiver++;
  }

  private log(
    level: TunnelLogEvent["level"],
    code: TunnelLogEvent["code"],
    message: string,
    peer?: string,
  ): void {
    this.logger?.({ level, code, message, ...(peer ? { peer } : {}) });
  }
}

function faultText(fault: StreamFault | "truncated", max: number): string {
  switch (fault) {
    case "bad-protocol":
      return "sent a header with an unknown protocol";
    case "bad-header":
      return "sent a header whose flags or reserved bytes are not zero";
    case "oversize":
      return `announced a segment longer than ${max} bytes`;
    case "truncated":
      return "closed the stream in the middle of a frame";
  }
}

/**
 * Creates a tunnel and starts listening on `address:port`; resolves once it listens.
 *
 * ```ts
 * const tunnel = await createTunnel({ address: "127.0.0.1", port: 23301, peerPort: 23302 });
 * tunnel.attach({ receive: (src, dst, proto, segment) => …, flush() {} });
 * tunnel.send(parseIpv4("127.0.0.1")!, 6, segment);
 * ```
 */
export async function createTunnel(options: TunnelOptions = {}): Promise<Tunnel> {
  const t = new Tunnel(options);
  await t.listen();
  return t;
}
