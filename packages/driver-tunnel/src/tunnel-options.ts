import type { Clock } from "@userstack/link";
import type { ByteSink, PcapWriter } from "@userstack/pcap";

/**
 * - `"userstack"`: segments up to {@link USERSTACK_MAX_SEGMENT} bytes, TCP checksums verified,
 *   peers keyed by address and port (so several hosts can share one machine), a hello on each new
 *   connection.
 * - `"chitcp"`: what a chitcpd speaks: segments up to {@link CHITCP_MAX_SEGMENT} bytes, a zero
 *   checksum accepted, peers keyed by address only, no hello.
 */
export type TunnelMode = "userstack" | "chitcp";

/** chiTCP's port (chitcpd's `GET_CHITCPD_PORT` default). */
export const DEFAULT_TUNNEL_PORT = 23300;
/**
 * The largest segment in userstack mode: 65535 - 20, so that a segment plus a synthesised IPv4
 * header still fits an IPv4 datagram and captures stay valid.
 */
export const USERSTACK_MAX_SEGMENT = 65515;
/** The largest segment in chiTCP mode: chitcpd reads segments into a 1000-byte buffer. */
export const CHITCP_MAX_SEGMENT = 1000;
/** The path MTU in chiTCP mode: a 20-byte header and chiTCP's MSS of 536, which the stack above then advertises. */
export const CHITCP_PATH_MTU = 556;

/**
 * A static route: segments for emulated address `address` (and TCP destination port `tcpPort`,
 * when given) go to the tunnel listening on `port` at that address.
 */
export interface TunnelRoute {
  address: string;
  tcpPort?: number;
  port: number;
}

/** Codes of {@link TunnelLogEvent}. */
export type TunnelLogCode =
  | "listening"
  | "connected"
  | "accepted"
  | "peer-unreachable"
  | "connection-lost"
  | "duplicate-connection"
  | "bad-protocol"
  | "bad-header"
  | "oversize"
  | "truncated"
  | "expected-hello"
  | "bad-hello"
  | "bad-checksum"
  | "dropped-segment";

/** One thing worth telling about the tunnel. */
export interface TunnelLogEvent {
  level: "debug" | "info" | "warn";
  code: TunnelLogCode;
  /** One sentence, saying what to do when there is something to do. */
  message: string;
  /** `address:port` of the peer concerned. */
  peer?: string;
}

/** Options for {@link createTunnel}. */
export interface TunnelOptions {
  /** This host's IPv4 address: the tunnel listens on it, dials from it, and it is the host's address on the emulated network (default `127.0.0.1`). */
  address?: string;
  /** The port to listen on (default 23300; 0 picks a free one, see `tunnel.port`). */
  port?: number;
  /** `"userstack"` (default) or `"chitcp"`. */
  mode?: TunnelMode;
  /** The tunnel port of peers that no route or flow names (default 23300). */
  peerPort?: number;
  /** Static routes, for several hosts behind one address (see the README). */
  routes?: readonly TunnelRoute[];
  /** Give up connecting to a peer after this long (default 5000 ms). */
  connectTimeoutMs?: number;
  /** After a failed connect, segments to that peer are lost for this long before the next attempt (default 1000 ms). */
  retryDelayMs?: number;
  /** The most bytes waiting to be written on one connection; beyond, segments are lost (default 8 MiB). */
  maxBufferedBytes?: number;
  /** How long a learned flow (which peer a TCP connection came from) lives without traffic (default 10 min). */
  flowIdleMs?: number;
  /** The most learned flows (default 65536); beyond, replies follow the routes. */
  maxFlows?: number;
  /** Where to write a pcap of the tunnel's traffic (IPv4 headers synthesised, linktype 101). */
  capture?: ByteSink | PcapWriter;
  /** Times connects, retries, flows and capture timestamps (default the real clock). */
  clock?: Clock;
  /** Receives log events; default prints warnings with `console.warn`; `false` silences everything. */
  log?: ((event: TunnelLogEvent) => void) | false;
}
