import { type CongestionControl, type CongestionWindow, slowStart } from "./congestion-control.js";

// RFC 9438 constants: multiplicative decrease factor and the cubic scaling constant.
const BETA = 0.7;
const C = 0.4;
// §4.3: the Reno-friendly additive increase that gives the same average rate as AIMD(1, 0.5).
const ALPHA = (3 * (1 - BETA)) / (1 + BETA);

/** CUBIC (RFC 9438), Linux's default. Windows in segments internally, bytes at the interface. */
export class Cubic implements CongestionControl {
  readonly name = "cubic" as const;
  /** W_max: the window before the last reduction, segments. */
  private wMax = 0;
  /** W_last_max for fast convergence (§4.7). */
  private wLastMax = 0;
  /** Start of the current congestion-avoidance epoch, ms, or -1. */
  private epochStart = -1;
  private k = 0;
  /** W_est, the Reno-friendly estimate, segments (§4.3). */
  private wEst = 0;
  private ackedPartial = 0;

  onAck(w: CongestionWindow, acked: number, now: number, rtt: number): void {
    if (w.cwnd < w.ssthresh) {
      acked = slowStart(w, acked);
      if (acked <= 0) return;
    }
    const mss = w.mss;
    const cwnd = w.cwnd / mss;
    if (this.epochStart < 0) {
      // §4.2: a new epoch starts at the first ACK in congestion avoidance.
      this.epochStart = now;
      if (this.wMax < cwnd) this.wMax = cwnd;
      this.k = Math.cbrt((this.wMax - cwnd) / C);
      this.wEst = cwnd;
      this.ackedPartial = 0;
    }
    const segs = acked / mss;
    // §4.3: W_est grows by alpha per window of acknowledged segments.
    this.wEst += (ALPHA * segs) / cwnd;
    // §4.2: W_cubic(t + RTT), the target one RTT ahead, clamped to 1.5 × cwnd (§4.4).
    const t = (now - this.epochStart + rtt) / 1000 - this.k;
    let target = C * t * t * t + this.wMax;
    if (target > 1.5 * cwnd) target = 1.5 * cwnd;
    if (this.wEst > target) target = this.wEst; // Reno-friendly region (§4.3)
    if (target > cwnd) {
      // §4.4: cwnd += (target − cwnd) / cwnd per acknowledged segment.
      this.ackedPartial += ((target - cwnd) / cwnd) * segs * mss;
      if (this.ackedPartial >= 1) {
        const inc = Math.floor(this.ackedPartial);
        w.cwnd += inc;
        this.ackedPartial -= inc;
      }
    }
  }

  onCongestion(w: CongestionWindow): void {
    const cwnd = w.cwnd / w.mss;
    // §4.7 fast convergence: release bandwidth to new flows when the window keeps shrinking.
    this.wMax = cwnd < this.wLastMax ? (cwnd * (1 + BETA)) / 2 : cwnd;
    this.wLastMax = cwnd;
    // §4.6: ssthresh = cwnd × β, at least 2 segments.
    w.ssthresh = Math.max(Math.floor(w.cwnd * BETA), 2 * w.mss);
    this.epochStart = -1;
  }

  onTimeout(w: CongestionWindow): void {
    // §4.8: as for a congestion event, then restart from one segment.
    this.onCongestion(w);
    w.cwnd = w.mss;
  }

  onRestart(): void {
    this.epochStart = -1;
  }
}
