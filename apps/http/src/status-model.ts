import type { InterfaceInfo, NetworkSession } from "@userstack/netkit";
import type { ConnectionInfo } from "@userstack/sockets";
import type { ConnectionHistory, ConnectionRow, ConnectionSample } from "./connection-history.js";
import type { ConnectionTrace, SegmentRecorder } from "./segment-recorder.js";

/** What `GET /api/status` answers. */
export interface StatusReport {
  /** Milliseconds since the app started. */
  uptimeMs: number;
  driver: string;
  /** The stack's address. */
  address: string;
  interfaces: (InterfaceInfo & { stack: Record<string, unknown> | undefined })[];
  connections: ConnectionRow[];
  /** Stack-wide TCP counters. */
  counters: Record<string, number>;
  http: HttpCounters;
  /** Sampling period of the chart, ms. */
  sampleMs: number;
}

/** Requests the app served. */
export interface HttpCounters {
  requests: number;
  bytesServed: number;
  bytesSunk: number;
}

/** What `GET /api/connection?id=…` answers. */
export interface ConnectionReport {
  id: string;
  row: ConnectionRow | undefined;
  samples: ConnectionSample[];
  trace: ConnectionTrace | undefined;
  nowMs: number;
}

/**
 * Everything the status page shows, gathered from the stack (connections, counters, interfaces),
 * the netkit session (driver, forwarders), the history sampler and the segment recorder.
 */
export class StatusModel {
  readonly http: HttpCounters = { requests: 0, bytesServed: 0, bytesSunk: 0 };

  constructor(
    private readonly session: NetworkSession,
    private readonly history: ConnectionHistory,
    private readonly recorder: SegmentRecorder,
  ) {}

  status(): StatusReport {
    this.history.sample();
    const stack = this.session.stack;
    const stackInterfaces = stack.interfaces();
    return {
      uptimeMs: this.history.now(),
      driver: this.session.config.driver,
      address: stack.address,
      interfaces: this.session.interfaces().map((i, n) => ({
        ...i,
        stack: stackInterfaces[n] as unknown as Record<string, unknown> | undefined,
      })),
      connections: this.history.rows(),
      counters: { ...stack.counters },
      http: this.http,
      sampleMs: this.history.intervalMs,
    };
  }

  connection(id: string): ConnectionReport | undefined {
    const row = this.history.rows().find((r) => r.id === id);
    const trace = this.recorder.trace(id);
    if (row === undefined && trace === undefined) return undefined;
    return { id, row, samples: this.history.samples(id) ?? [], trace, nowMs: this.history.now() };
  }
}

/** For the memory driver: names the host program behind a connection that came through a forwarder. */
export function forwardedPeer(session: NetworkSession): (row: ConnectionInfo) => string | undefined {
  return (row) => {
    const v = session.virtual;
    if (v === undefined || row.remoteAddress !== v.gatewayAddress) return undefined;
    const flow = v.flows().forwarded.find((f) => f.gatewayPort === row.remotePort);
    return flow === undefined ? undefined : `${flow.host.address}:${flow.host.port}`;
  };
}
