/**
 * The retransmission timer's estimator (RFC 6298 §2): SRTT and RTTVAR from RTT samples, the RTO
 * bounded by a configurable minimum (Linux uses 200 ms where the RFC says 1 s, (2.4)) and maximum
 * ((2.5)), and exponential backoff ((5.5)). Times in ms.
 */
export class RttEstimator {
  srtt = 0;
  rttvar = 0;
  /** The RTO before backoff. */
  private baseRto = 0;
  /** Consecutive timeouts: the RTO is doubled this many times. */
  backoff = 0;
  hasSample = false;
  /** Latest RTT sample. */
  latest = 0;
  /** Smallest RTT seen (CUBIC and HyStart-style uses; diagnostics). */
  minRtt = Number.POSITIVE_INFINITY;

  constructor(
    initialRto: number,
    private readonly minRto: number,
    private readonly maxRto: number,
  ) {
    this.baseRto = initialRto;
  }

  /** The current RTO, backoff included. */
  get rto(): number {
    const r = this.baseRto * 2 ** this.backoff;
    return Math.min(r, this.maxRto);
  }

  /** Takes one RTT measurement `r` (ms). */
  sample(r: number): void {
    if (r < 0) return;
    this.latest = r;
    if (r < this.minRtt) this.minRtt = r;
    if (!this.hasSample) {
      // (2.2) first measurement
      this.srtt = r;
      this.rttvar = r / 2;
      this.hasSample = true;
    } else {
      // (2.3) alpha = 1/8, beta = 1/4
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    // (2.3) RTO = SRTT + max(G, K*RTTVAR), G = 1 ms clock granularity; (2.4) lower bound.
    const rto = this.srtt + Math.max(1, 4 * this.rttvar);
    this.baseRto = Math.min(this.maxRto, Math.max(this.minRto, rto));
    // (5.7) a new sample after backoff collapses the backoff.
    this.backoff = 0;
  }

  /** (5.5) doubles the RTO after a timeout. */
  backOff(): void {
    if (this.baseRto * 2 ** this.backoff < this.maxRto) this.backoff++;
  }
}
