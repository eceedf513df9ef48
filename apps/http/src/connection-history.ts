import type { ConnectionInfo, Stack } from "@userstack/sockets";

/** One sample of a connection's counters, for the throughput and cwnd chart. */
export interface ConnectionSample {
  /** Milliseconds since the history started. */
  t: number;
  /** Payload bytes received in order so far. */
  bytesIn: number;
  /** Payload bytes the peer acknowledged so far. */
  bytesAcked: number;
  /** Congestion window, bytes. */
  cwnd: number;
  /** Smoothed RTT, ms. */
  srtt: number;
  /** Bytes in flight. */
  inFlight: number;
}

/** A connection as the status page lists it: the stack's row plus what the app knows about it. */
export interface ConnectionRow extends ConnectionInfo {
  id: string;
  /** The host program's end when the connection came through the memory driver's forwarder. */
  via: string | undefined;
  /** Milliseconds since the history started, when it was first seen. */
  firstSeen: number;
  /** True once the connection left the stack's table (kept a while so it can still be looked at). */
  gone: boolean;
}

interface Entry {
  row: ConnectionRow;
  samples: ConnectionSample[];
  goneAt: number;
}

/** Options of a {@link ConnectionHistory}. */
export interface ConnectionHistoryOptions {
  /** Sampling period, ms (default 500). */
  intervalMs?: number;
  /** Samples kept per connection (default 240: two minutes at 500 ms). */
  samples?: number;
  /** How long a closed connection stays listed, ms (default 60 s). */
  keepGoneMs?: number;
  /** Connections remembered at most; the oldest closed ones go first (default 200). */
  maxConnections?: number;
  /** Names the host peer of a connection (the memory driver's forwarder knows it). */
  via?: (row: ConnectionInfo) => string | undefined;
}

/** `10.0.2.15:80-10.0.2.2:40001`: a connection's id on the page and in the segment recorder. */
export function connectionId(c: {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}): string {
  return `${c.localAddress}:${c.localPort}-${c.remoteAddress}:${c.remotePort}`;
}

/**
 * Samples `stack.stats()` on a timer and keeps, per connection, a bounded series of counters —
 * what the status page draws its chart from — and the last row of connections that have closed,
 * for a minute, so a short connection can still be looked at after it ended.
 */
export class ConnectionHistory {
  private readonly entries = new Map<string, Entry>();
  private readonly timer: NodeJS.Timeout;
  private readonly start = performance.now();
  private readonly limit: number;
  private readonly keepGoneMs: number;
  private readonly maxConnections: number;
  readonly intervalMs: number;

  constructor(
    private readonly stack: Stack,
    private readonly options: ConnectionHistoryOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 500;
    this.limit = options.samples ?? 240;
    this.keepGoneMs = options.keepGoneMs ?? 60_000;
    this.maxConnections = options.maxConnections ?? 200;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  /** Takes a sample now (the timer calls it; a request for the page may too, for fresh figures). */
  sample(): void {
    const now = performance.now() - this.start;
    const live = new Set<string>();
    for (const c of this.stack.stats()) {
      const id = connectionId(c);
      live.add(id);
      let e = this.entries.get(id);
      if (e === undefined || e.row.gone) {
        if (e !== undefined) this.entries.delete(id); // the same four numbers, a new connection
        e = {
          row: { ...c, id, via: this.options.via?.(c), firstSeen: now, gone: false },
          samples: [],
          goneAt: 0,
        };
        this.entries.set(id, e);
        this.trim();
      } else {
        Object.assign(e.row, c);
        e.row.via ??= this.options.via?.(c);
      }
      const last = e.samples.at(-1);
      if (last !== undefined && now - last.t < this.intervalMs / 2) e.samples.pop();
      e.samples.push({
        t: now,
        bytesIn: c.bytesIn,
        bytesAcked: c.bytesAcked,
        cwnd: c.cwnd,
        srtt: c.srtt,
        inFlight: c.inFlight,
      });
      if (e.samples.length > this.limit) e.samples.shift();
    }
    for (const [id, e] of this.entries) {
      if (live.has(id)) continue;
      if (!e.row.gone) {
        e.row.gone = true;
        e.row.state = "CLOSED";
        e.goneAt = now;
      } else if (now - e.goneAt > this.keepGoneMs) this.entries.delete(id);
    }
  }

  /** Every connection listed: open ones, then those closed in the last minute; newest first. */
  rows(): ConnectionRow[] {
    return [...this.entries.values()].map((e) => e.row).reverse();
  }

  /** A connection's samples, oldest first. */
  samples(id: string): ConnectionSample[] | undefined {
    return this.entries.get(id)?.samples;
  }

  /** Milliseconds since the history started. */
  now(): number {
    return performance.now() - this.start;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private trim(): void {
    if (this.entries.size <= this.maxConnections) return;
    for (const [id, e] of this.entries) {
      if (e.row.gone) {
        this.entries.delete(id);
        if (this.entries.size <= this.maxConnections) return;
      }
    }
    // All open: forget the oldest anyway; the table still lists it from stack.stats().
    const oldest = this.entries.keys().next().value;
    if (oldest !== undefined) this.entries.delete(oldest);
  }
}
