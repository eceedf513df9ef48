// Shared by the tunnel tests: segments with real checksums, a receiver that can be awaited, and
// tunnels on free ports of 127.0.0.1 (never any other address).
import { parseIpv4 } from "@userstack/ipv4";
import { encodeTcp, TcpFlag } from "@userstack/tcp";
import { createTunnel, type Tunnel } from "../src/index.js";
import type { TunnelLogEvent, TunnelOptions } from "../src/tunnel-options.js";

export const LOOPBACK = parseIpv4("127.0.0.1")!;

/** A TCP segment between 127.0.0.1 ports with a correct checksum; the payload is derived from `seq`. */
export function segment(
  sourcePort: number,
  destinationPort: number,
  seq: number,
  length: number,
): Uint8Array {
  const payload = new Uint8Array(length);
  for (let i = 0; i < length; i++) payload[i] = (seq * 7 + i * 13) & 0xff;
  return encodeTcp(
    { sourcePort, destinationPort, seq, ack: 1, flags: TcpFlag.ACK | TcpFlag.PSH, window: 65535 },
    payload,
    undefined,
    0,
    LOOPBACK,
    LOOPBACK,
  );
}

/** The same segment with source and destination ports swapped and the checksum redone: an echo. */
export function echoOf(s: Uint8Array): Uint8Array {
  const out = s.slice();
  out.set(s.subarray(2, 4), 0);
  out.set(s.subarray(0, 2), 2);
  // Swapping two 16-bit words leaves the one's complement sum, and so the checksum, unchanged.
  return out;
}

export interface Received {
  source: number;
  segment: Uint8Array;
}

/** A receiver that keeps copies and lets a test wait for a count. */
export class Collector {
  readonly got: Received[] = [];
  flushes = 0;
  private waiters: { n: number; resolve: () => void }[] = [];
  constructor(private readonly onSegment?: (source: number, segment: Uint8Array) => void) {}
  receive(source: number, _destination: number, _protocol: number, segment: Uint8Array): void {
    this.got.push({ source, segment: segment.slice() });
    this.onSegment?.(source, segment);
  }
  flush(): void {
    this.flushes++;
    this.waiters = this.waiters.filter((w) => {
      if (this.got.length < w.n) return true;
      w.resolve();
      return false;
    });
  }
  /** Resolves once `n` segments have arrived; rejects after `ms`. */
  waitFor(n: number, ms = 20_000): Promise<void> {
    if (this.got.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`waited ${ms} ms for ${n} segments, got ${this.got.length}`)),
        ms,
      );
      this.waiters.push({
        n,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
    });
  }
}

/** A tunnel on a free port of 127.0.0.1 that keeps its log. */
export async function tunnelOn(
  options: TunnelOptions = {},
): Promise<{ t: Tunnel; log: TunnelLogEvent[]; rx: Collector }> {
  const log: TunnelLogEvent[] = [];
  const t = await createTunnel({ address: "127.0.0.1", port: 0, log: (e) => log.push(e), ...options });
  const rx = new Collector();
  t.attach(rx);
  return { t, log, rx };
}

/** Resolves when `check` holds, polling each turn of the event loop; rejects after `ms`. */
export async function until(check: () => boolean, ms = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
