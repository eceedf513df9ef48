/**
 * A token bucket driven by the `now` values passed in (no clock): `rate` tokens per second up to
 * `burst`. ICMP errors are rate-limited with one (RFC 1812 §4.3.2.8; Linux's icmp_msgs_per_sec
 * and icmp_msgs_burst, 1000 and 50 by default).
 */
export class TokenBucket {
  private tokens: number;
  private last = Number.NaN;

  constructor(
    /** Tokens added per second. */
    readonly rate: number,
    /** Most tokens held: the largest burst. */
    readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes a token at `now` (ms) if one is there; false when the bucket is empty. */
  take(now: number): boolean {
    if (!Number.isNaN(this.last) && now > this.last)
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    if (Number.isNaN(this.last) || now > this.last) this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
