/** Congestion control algorithms this package implements. */
export type CongestionControlName = "cubic" | "newreno";

/**
 * Loss detection with SACK: RACK-TLP (RFC 8985, Linux's default: time-based, detects lost
 * retransmissions, probes tail losses) or RFC 6675's duplicate-ACK threshold alone. Without SACK
 * both fall back to NewReno (RFC 6582), as Linux does.
 */
export type LossRecoveryName = "rack" | "rfc6675";

/**
 * Per-connection (and per-listener) settings. Every field is optional where it is passed in;
 * {@link resolveTcpConfig} fills Linux-like defaults (the sysctl each mirrors is named).
 */
export interface TcpConfig {
  /**
   * Send buffer bytes (ring): what the application may queue, in flight or not yet sent; so also
   * the most in flight. Default 1 MiB: 8 Gbit/s at a 1 ms RTT. Linux autotunes up to 4 MiB
   * (tcp_wmem), but it paces and limits its queues (TCP small queues); without that, more in
   * flight only queued in front of the peer here (see the README). Reserved, not allocated:
   * storage is taken as data is written and given back as it is acknowledged.
   */
  sendBufferSize: number;
  /**
   * Receive buffer bytes, which is also the largest window advertised, so the most a peer can
   * make this connection hold (see {@link bufferLimit} for all of them). Default 2 MiB: 16 Gbit/s
   * at a 1 ms RTT (Linux autotunes up to 6 MiB, tcp_rmem, about 3–4 MiB of window). Reserved,
   * not allocated: storage is taken as data arrives and given back as it is read.
   */
  receiveBufferSize: number;
  /** Path MTU toward the peer; the MSS we offer is `mtu - 40` unless {@link mss} is set. Default 1500. */
  mtu: number;
  /** Our MSS option value; 0 = derive from {@link mtu} (RFC 9293 §3.7.1). */
  mss: number;
  /** Disables Nagle's algorithm (TCP_NODELAY). Default false. */
  noDelay: boolean;
  /** Sends keepalive probes when idle (SO_KEEPALIVE). Default false. */
  keepAlive: boolean;
  /** Idle time before the first keepalive probe, ms (tcp_keepalive_time 7200 s). */
  keepAliveIdle: number;
  /** Time between keepalive probes, ms (tcp_keepalive_intvl 75 s). */
  keepAliveInterval: number;
  /** Unanswered probes before the connection fails with ETIMEDOUT (tcp_keepalive_probes 9). */
  keepAliveCount: number;
  /** Congestion control (net.ipv4.tcp_congestion_control, Linux default cubic). */
  congestionControl: CongestionControlName;
  /** Loss detection with SACK (net.ipv4.tcp_recovery: 1, RACK, by default; see {@link LossRecoveryName}). */
  recovery: LossRecoveryName;
  /** Initial congestion window in segments (RFC 6928, Linux TCP_INIT_CWND 10). */
  initialCwnd: number;
  /** Lower bound of the retransmission timeout, ms (Linux TCP_RTO_MIN 200 ms; RFC 6298 says 1 s). */
  minRto: number;
  /** Upper bound of the retransmission timeout, ms (Linux TCP_RTO_MAX 120 s). */
  maxRto: number;
  /** RTO before any RTT sample, ms (RFC 6298 (2.1): 1 s). */
  initialRto: number;
  /** Maximum segment lifetime, ms; TIME-WAIT lasts 2×MSL (RFC 9293 §3.4.2). Default 30 s. */
  msl: number;
  /** SYN retransmissions before ETIMEDOUT (tcp_syn_retries 6). */
  synRetries: number;
  /** SYN-ACK retransmissions before giving up a half-open connection (tcp_synack_retries 5). */
  synAckRetries: number;
  /** Consecutive retransmission timeouts before ETIMEDOUT (tcp_retries2 15). */
  maxRetries: number;
  /** Fails the connection when sent data stays unacknowledged this long, ms (TCP_USER_TIMEOUT); 0 = off. */
  userTimeout: number;
  /** FIN-WAIT-2 lifetime after close() (not after shutdown()), ms (tcp_fin_timeout 60 s). */
  finWait2Timeout: number;
  /** Delayed ACK lower bound, ms (Linux TCP_DELACK_MIN 40 ms). */
  delayedAckMin: number;
  /** Delayed ACK upper bound, ms (RFC 1122 §4.2.3.2: under 0.5 s; Linux TCP_DELACK_MAX 200 ms). */
  delayedAckMax: number;
  /** Offer/accept window scaling (RFC 7323 §2). */
  windowScaling: boolean;
  /** Offer/accept timestamps (RFC 7323 §3). */
  timestamps: boolean;
  /** Offer/accept SACK (RFC 2018). */
  sack: boolean;
  /** Most out-of-order ranges kept per connection; a segment that would need more is dropped. */
  maxOutOfOrderRanges: number;
  /** Least time between two rate-limited ACKs (RFC 5961 challenge ACKs, out-of-window ACKs), ms (tcp_invalid_ratelimit 500 ms). */
  invalidAckInterval: number;
  /** Slow-start restart after an idle period longer than the RTO (RFC 5681 §4.1, tcp_slow_start_after_idle 1). */
  slowStartAfterIdle: boolean;
  /** Listener: completed connections waiting for accept() (listen() backlog; somaxconn 4096). */
  backlog: number;
  /** Listener: half-open connections kept before SYN cookies take over (tcp_max_syn_backlog). */
  synQueueSize: number;
  /** Listener: answer with SYN cookies when the SYN queue is full (tcp_syncookies 1, RFC 4987). */
  synCookies: boolean;
  /**
   * Engine-wide (read when the `TcpEngine` is made): bytes of free ring storage kept for reuse by
   * its connections. Rings take storage as data queues and give it back as it drains, so idle
   * connections hold none; this pool saves busy ones from allocating. Default 4 MiB.
   */
  bufferPoolSize: number;
  /**
   * Engine-wide (read when the `TcpEngine` is made), Linux's tcp_mem hard limit in spirit: once
   * this engine's connections hold this many bytes of buffer storage, data that arrives out of
   * order is dropped instead of stored (the peer sends it again); in-order data is still taken,
   * so every connection keeps making progress and its reader frees what it holds. Out-of-order
   * data is the one thing a peer can make us hold that no application read can free, so this
   * bounds it for all connections together. Default 256 MiB.
   */
  bufferLimit: number;
}

/** The defaults, Linux-like. */
export const DEFAULT_TCP_CONFIG: Readonly<TcpConfig> = Object.freeze({
  sendBufferSize: 1024 * 1024,
  receiveBufferSize: 2 * 1024 * 1024,
  mtu: 1500,
  mss: 0,
  noDelay: false,
  keepAlive: false,
  keepAliveIdle: 7_200_000,
  keepAliveInterval: 75_000,
  keepAliveCount: 9,
  congestionControl: "cubic",
  recovery: "rack",
  initialCwnd: 10,
  minRto: 200,
  maxRto: 120_000,
  initialRto: 1000,
  msl: 30_000,
  synRetries: 6,
  synAckRetries: 5,
  maxRetries: 15,
  userTimeout: 0,
  finWait2Timeout: 60_000,
  delayedAckMin: 40,
  delayedAckMax: 200,
  windowScaling: true,
  timestamps: true,
  sack: true,
  maxOutOfOrderRanges: 64,
  invalidAckInterval: 500,
  slowStartAfterIdle: true,
  backlog: 511,
  synQueueSize: 256,
  synCookies: true,
  bufferPoolSize: 4 * 1024 * 1024,
  bufferLimit: 256 * 1024 * 1024,
});

/**
 * Fills the defaults into `partial` and checks the ranges; throws a RangeError naming the field
 * for a value that cannot work (a configuration bug, never received input).
 */
export function resolveTcpConfig(
  partial: Partial<TcpConfig> = {},
  base: Readonly<TcpConfig> = DEFAULT_TCP_CONFIG,
): TcpConfig {
  const c: TcpConfig = { ...base, ...partial };
  const need = (ok: boolean, field: string, what: string) => {
    if (!ok) throw new RangeError(`TcpConfig.${field}: ${what}`);
  };
  need(c.sendBufferSize >= 1024 && c.sendBufferSize <= 1 << 30, "sendBufferSize", "must be 1 KiB to 1 GiB");
  need(
    c.receiveBufferSize >= 1024 && c.receiveBufferSize <= 1 << 30,
    "receiveBufferSize",
    "must be 1 KiB to 1 GiB",
  );
  need(c.mtu >= 68 && c.mtu <= 65535, "mtu", "must be 68 to 65535 (RFC 791)");
  need(c.mss === 0 || (c.mss >= 88 && c.mss <= 65495), "mss", "must be 0 (from mtu) or 88 to 65495");
  need(c.minRto >= 1 && c.minRto <= c.maxRto, "minRto", "must be at least 1 ms and at most maxRto");
  need(c.initialCwnd >= 1 && c.initialCwnd <= 100, "initialCwnd", "must be 1 to 100 segments");
  need(c.msl >= 0, "msl", "must not be negative");
  need(
    c.maxOutOfOrderRanges >= 1 && c.maxOutOfOrderRanges <= 1024,
    "maxOutOfOrderRanges",
    "must be 1 to 1024",
  );
  need(c.bufferPoolSize >= 0, "bufferPoolSize", "must not be negative");
  need(c.bufferLimit >= 0, "bufferLimit", "must not be negative");
  need(c.backlog >= 0 && c.synQueueSize >= 0, "backlog", "backlog and synQueueSize must not be negative");
  need(
    c.delayedAckMin <= c.delayedAckMax && c.delayedAckMax < 500,
    "delayedAckMax",
    "must be ≥ delayedAckMin and < 500 ms (RFC 1122 §4.2.3.2)",
  );
  need(
    c.congestionControl === "cubic" || c.congestionControl === "newreno",
    "congestionControl",
    'must be "cubic" or "newreno"',
  );
  need(c.recovery === "rack" || c.recovery === "rfc6675", "recovery", 'must be "rack" or "rfc6675"');
  return c;
}

/** The MSS a config offers: the explicit value, else MTU − 40 (IPv4 and TCP headers without options). */
export function configMss(c: TcpConfig): number {
  return c.mss > 0 ? c.mss : c.mtu - 40;
}
