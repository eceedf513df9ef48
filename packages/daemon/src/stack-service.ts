import { formatIpv4, parseIpv4 } from "@userstack/ipv4";
import type { Clock, Link, NetworkLayer } from "@userstack/link";
import {
  type ConnectionInfo,
  createStack,
  type Endpoint,
  type ListenerHandle,
  type Stack,
  type StackCounters,
  type StackLogEvent,
} from "@userstack/sockets";
import type { TcpConfig } from "@userstack/tcp";
import { DaemonSession, type SessionHost, type SessionInfo } from "./daemon-session.js";
import { GatedLink } from "./gated-link.js";
import { GatedNetwork } from "./gated-network.js";
import { type GateStats, SegmentGate } from "./segment-gate.js";
import type { Transport } from "./transport.js";
import { GoodbyeReason } from "./wire-format.js";

/** Where the stack of a {@link StackService} runs: a link with an address, or a network layer. */
export interface StackServiceOptions {
  /** A link (memory, TUN, TAP…) with `ipv4`. */
  link?: Link;
  /** Our address and prefix on the link, e.g. `"10.0.0.2/24"`. */
  ipv4?: string;
  gateway?: string;
  mac?: string | Uint8Array;
  /** A network layer (the chiTCP-style tunnel) instead of a link. */
  network?: NetworkLayer;
  /** TCP defaults of the stack's connections. */
  tcp?: Partial<TcpConfig>;
  clock?: Clock;
  /** What the stack runs on, as {@link DaemonStats.driver} reports it (e.g. "tunnel 127.0.0.1:23300"). */
  description?: string;
  /** Receives one line per notable event (a client came or went, a protocol violation). */
  log?: (line: string) => void;
  /** The driver's own counters, included in {@link DaemonStats.driverStats}. */
  driverStats?: () => unknown;
}

/** Counters of a {@link StackService}. */
export interface ServiceCounters {
  sessionsOpened: number;
  sessionsClosed: number;
  /** Live connections reset because their client went away. */
  socketsReleased: number;
  /** Sessions ended for breaking the protocol. */
  protocolViolations: number;
  /** Client writes the connection did not take in one go (the credits make this 0). */
  creditOverruns: number;
}

/** What `stats()` reports: the daemon's clients, its stack's connections, the debug channel. */
export interface DaemonStats {
  pid: number;
  /** The stack's IPv4 address. */
  address: string;
  driver: string;
  uptimeMs: number;
  sessions: SessionInfo[];
  counters: ServiceCounters;
  /** Every connection of the stack, like `ss -ti` (ssthresh is null before the first loss). */
  connections: ConnectionInfo[];
  /** The stack's own counters (segments in, malformed, resets sent…). */
  stack: StackCounters;
  debug: GateStats & { subscribers: boolean; withheldNow: number };
  /** The driver's counters (the tunnel's segments and peers, a TAP's frames…). */
  driverStats?: unknown;
}

/**
 * One userstack stack serving clients: the core of `userstackd` and of a stack worker. Each client
 * connection (any {@link Transport}) becomes a {@link DaemonSession}; the stack's link or network
 * layer is wrapped with the debug channel's {@link SegmentGate}, and its state changes feed it.
 */
export class StackService implements SessionHost {
  readonly stack: Stack;
  readonly gate = new SegmentGate();
  readonly counters: ServiceCounters = {
    sessionsOpened: 0,
    sessionsClosed: 0,
    socketsReleased: 0,
    protocolViolations: 0,
    creditOverruns: 0,
  };
  readonly pid = process.pid;
  readonly driver: string;
  private readonly sessions = new Set<DaemonSession>();
  private nextSession = 1;
  private readonly started = performance.now();
  private readonly log: (line: string) => void;
  private closed = false;
  private readonly driverStats: (() => unknown) | undefined;

  constructor(options: StackServiceOptions) {
    this.log = options.log ?? (() => {});
    this.driverStats = options.driverStats;
    const logger = (e: StackLogEvent) => {
      if (e.kind !== "state" || !this.gate.active) return;
      const m = /^(\d+)>([\d.]+):(\d+)$/.exec(e.connection);
      if (m === null) return;
      this.gate.stateChange(
        {
          localAddress: this.stack.localAddress,
          localPort: Number(m[1]),
          remoteAddress: parseIpv4(m[2]!) ?? 0,
          remotePort: Number(m[3]),
        },
        e.from,
        e.to,
      );
    };
    if (options.network !== undefined) {
      this.stack = createStack({
        network: new GatedNetwork(options.network, this.gate),
        tcp: options.tcp,
        clock: options.clock,
        logger,
      });
    } else if (options.link !== undefined) {
      this.stack = createStack({
        link: new GatedLink(options.link, this.gate),
        ipv4: options.ipv4,
        gateway: options.gateway,
        mac: options.mac,
        tcp: options.tcp,
        clock: options.clock,
        logger,
      });
    } else {
      throw new TypeError("StackService needs `link` (with `ipv4`) or `network`.");
    }
    this.driver = options.description ?? (options.network ? "network layer" : "link");
  }

  get localAddress(): number {
    return this.stack.localAddress;
  }

  get tcpDefaults(): TcpConfig {
    return this.stack.tcp.config;
  }

  /** Serves one client over `transport` until either side ends it. */
  serve(transport: Transport, kind: "unix" | "port"): DaemonSession {
    const s = new DaemonSession(this.nextSession++, this, transport, kind);
    this.sessions.add(s);
    this.counters.sessionsOpened++;
    if (this.closed) s.goodbye(GoodbyeReason.Shutdown, "the daemon is shutting down");
    return s;
  }

  // ---- SessionHost ----

  open(o: {
    remoteAddress: number;
    remotePort: number;
    localPort?: number;
    tcp: Partial<TcpConfig>;
  }): Endpoint {
    return this.stack.open(o);
  }

  listen(o: { port: number; address: number; backlog?: number; tcp: Partial<TcpConfig> }): ListenerHandle {
    // Port 0 asks for a free ephemeral port, as bind(2) does.
    const port = o.port === 0 ? this.stack.freePort() : o.port;
    return this.stack.listen({ ...o, port });
  }

  accept(le: ListenerHandle): Endpoint | undefined {
    return this.stack.accept(le as Parameters<Stack["accept"]>[0]);
  }

  unlisten(le: ListenerHandle): void {
    this.stack.unlisten(le);
  }

  statsJson(): string {
    return JSON.stringify(this.stats());
  }

  sessionEnded(session: DaemonSession, released: number): void {
    if (!this.sessions.delete(session)) return;
    this.counters.sessionsClosed++;
    this.counters.socketsReleased += released;
    this.log(
      `client ${session.id} (pid ${session.pid}) left${released > 0 ? `; reset its ${released} open connection(s)` : ""}`,
    );
  }

  countViolation(): void {
    this.counters.protocolViolations++;
  }

  countOverrun(): void {
    this.counters.creditOverruns++;
  }

  // ---- the rest ----

  stats(): DaemonStats {
    return {
      pid: this.pid,
      address: formatIpv4(this.stack.localAddress),
      driver: this.driver,
      uptimeMs: Math.round(performance.now() - this.started),
      sessions: [...this.sessions].map((s) => s.info()),
      counters: { ...this.counters },
      connections: this.stack.stats(),
      stack: { ...this.stack.counters },
      debug: { ...this.gate.stats, subscribers: this.gate.active, withheldNow: this.gate.withheldCount },
      driverStats: this.driverStats?.(),
    };
  }

  /** Says goodbye to every client (their sockets see ECONNRESET) and closes the stack. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.sessions]) s.goodbye(GoodbyeReason.Shutdown, "the daemon is shutting down");
    await this.stack.close();
  }
}
