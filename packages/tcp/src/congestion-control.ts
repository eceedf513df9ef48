import type { CongestionControlName } from "./config.js";

/** The window a congestion controller steers, in bytes. */
export interface CongestionWindow {
  cwnd: number;
  ssthresh: number;
  /** Sender MSS, bytes. */
  mss: number;
}

/**
 * A congestion control algorithm, plugged into a connection. The connection runs loss recovery
 * (RFC 6675 / RFC 6582) itself and calls these hooks; an algorithm only decides how the window
 * grows and how far it falls.
 */
export interface CongestionControl {
  readonly name: CongestionControlName;
  /** `acked` new bytes were acknowledged outside loss recovery; `rtt` is the latest sample (ms) or 0. */
  onAck(w: CongestionWindow, acked: number, now: number, rtt: number): void;
  /** Loss detected by duplicate ACKs or SACK: sets `ssthresh` (the connection sets cwnd from it). */
  onCongestion(w: CongestionWindow, flight: number, now: number): void;
  /** Retransmission timeout: sets `ssthresh` and collapses `cwnd` to one segment (RFC 5681 (4)). */
  onTimeout(w: CongestionWindow, flight: number, now: number): void;
  /** The connection restarts from the initial window after idling (RFC 5681 §4.1). */
  onRestart(w: CongestionWindow): void;
}

/**
 * Slow start (RFC 5681 §3.1) with appropriate byte counting, L = 2 segments (RFC 3465 §2.2).
 * Returns what is left of `acked` for congestion avoidance: only once cwnd reaches ssthresh
 * (as Linux's tcp_slow_start), never the part of a stretch ACK beyond L — carried into
 * congestion avoidance, one ACK covering a few megabytes grew cwnd by as much.
 */
export function slowStart(w: CongestionWindow, acked: number): number {
  const inc = Math.min(acked, 2 * w.mss, w.ssthresh - w.cwnd);
  w.cwnd += inc;
  return w.cwnd < w.ssthresh ? 0 : acked - inc;
}
