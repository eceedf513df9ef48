import type { TcpIcmpError, TcpSegmentOut } from "@userstack/tcp";
import type { Timed } from "./timer-queue.js";

/** The ICMP errors a path reports to TCP. */
export type IcmpErrorKind = TcpIcmpError;

/**
 * How the stack's TCP reaches the network: IPv4 over a link (Ethernet with ARP, or a bare IP
 * medium) or a {@link NetworkLayer} used directly (the chiTCP-style tunnel). Internal to the stack.
 */
export interface NetworkPath {
  /** Our IPv4 address. */
  readonly localAddress: number;
  /** The largest IP datagram toward `destination` that needs no fragmentation. */
  mtu(destination: number): number;
  /** Why `destination` cannot be reached at all (no route), or undefined when it can be tried. */
  routeError(destination: number): "EHOSTUNREACH" | "ENETUNREACH" | undefined;
  /** Sends one TCP segment (the path writes the headers below TCP and the checksum). */
  sendTcp(segment: TcpSegmentOut): void;
  /** Pushes frames queued during a batch to the device. */
  flush(): void;
  /** Releases the link or network layer. */
  close(): Promise<void>;
  /** What the path is, with its counters, for status pages. */
  info(): InterfaceInfo;
  /** ICMP echo, where the path has ICMP (not on a bare network layer). */
  ping?(
    destination: number,
    size: number,
    timeoutMs: number,
  ): Promise<{ rttMs: number; bytes: number; ttl: number }>;
}

/** What a path calls back into the stack with. */
export interface PathReceiver {
  /**
   * A TCP segment for us: IPv4 source and destination, and the segment at `data[start..end)`, lent
   * for the call (the frame itself, so no view of the segment is made per packet).
   */
  tcpSegment(source: number, destination: number, data: Uint8Array, start: number, end: number): void;
  /** An ICMP error quoting one of our TCP segments. */
  tcpIcmpError(
    kind:
      | "port-unreachable"
      | "protocol-unreachable"
      | "host-unreachable"
      | "net-unreachable"
      | "admin-prohibited"
      | "frag-needed",
    localPort: number,
    remoteAddress: number,
    remotePort: number,
    seq: number,
    mtu: number,
  ): void;
  /** The end of an input batch: process, then send. */
  flush(): void;
  /** The time the current batch runs at (the clock's time outside a batch). */
  now(): number;
  /** Starts a batch at the clock's time unless one runs, and returns its time; `flush` ends it. */
  beginBatch(): number;
  /** Puts the path's own deadline (ARP retries, reassembly, pings) on the stack's timer queue. */
  schedule(t: Timed, at: number | undefined): void;
}

/** A stack's interface as `stack.interfaces()` reports it (like `ip -s addr`). */
export interface InterfaceInfo {
  /** `ethernet` or `ip` for a link, `network-layer` for a tunnel. */
  medium: string;
  address: string;
  prefix?: number;
  gateway?: string;
  mac?: string;
  mtu: number;
  /** Every counter of every layer below TCP, by `layer.name`. */
  counters: Record<string, number>;
  /** The ARP table, on Ethernet links. */
  neighbors?: { address: string; mac: string; state: string }[];
}
