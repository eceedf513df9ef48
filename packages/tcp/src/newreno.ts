import { type CongestionControl, type CongestionWindow, slowStart } from "./congestion-control.js";

/** RFC 5681 congestion avoidance with byte counting; the loss response RFC 6582 (NewReno) uses. */
export class NewReno implements CongestionControl {
  readonly name = "newreno" as const;
  private bytesAcked = 0;

  onAck(w: CongestionWindow, acked: number, _now?: number, _rtt?: number): void {
    if (w.cwnd < w.ssthresh) acked = slowStart(w, acked);
    if (acked <= 0) return;
    // (3.3) in congestion avoidance, one MSS per window of data acknowledged (RFC 3465 §2.1).
    this.bytesAcked += acked;
    if (this.bytesAcked >= w.cwnd) {
      this.bytesAcked -= w.cwnd;
      w.cwnd += w.mss;
    }
  }

  onCongestion(w: CongestionWindow, flight: number): void {
    // RFC 5681 (4): ssthresh = max(FlightSize / 2, 2*SMSS).
    w.ssthresh = Math.max(flight >>> 1, 2 * w.mss);
    this.bytesAcked = 0;
  }

  onTimeout(w: CongestionWindow, flight: number): void {
    this.onCongestion(w, flight);
    w.cwnd = w.mss; // the loss window (RFC 5681 §3.1)
  }

  onRestart(): void {
    this.bytesAcked = 0;
  }
}
