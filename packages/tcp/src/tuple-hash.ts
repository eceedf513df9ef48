import { put16, put32 } from "@userstack/wire";
import { SipKey, sipHash } from "./siphash.js";

/**
 * Keyed hashes of a connection's 4-tuple (SipHash-2-4 under per-stack secrets): the ISN offset
 * of RFC 6528 §3, the timestamp offset (RFC 7323 §5.4, as Linux randomises TSval per connection),
 * and SYN cookie MACs (RFC 4987 §3.6). One secret per use, so that one leaking reveals nothing
 * about the others.
 */
export class TupleHash {
  private readonly isnKey: SipKey;
  private readonly tsKey: SipKey;
  private readonly cookieKey: SipKey;
  private readonly scratch = new Uint8Array(20);

  /** `secret`: 48 random bytes (three 16-byte keys). */
  constructor(secret: Uint8Array) {
    if (secret.length < 48)
      throw new RangeError(`TupleHash: the secret needs 48 bytes, got ${secret.length}`);
    this.isnKey = new SipKey(secret.subarray(0, 16));
    this.tsKey = new SipKey(secret.subarray(16, 32));
    this.cookieKey = new SipKey(secret.subarray(32, 48));
  }

  private tuple(la: number, lp: number, ra: number, rp: number): void {
    put32(this.scratch, 0, la);
    put32(this.scratch, 4, ra);
    put16(this.scratch, 8, lp);
    put16(this.scratch, 10, rp);
  }

  /**
   * RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a timer
   * ticking every 4 µs (`now` in ms).
   */
  isn(now: number, la: number, lp: number, ra: number, rp: number): number {
    this.tuple(la, lp, ra, rp);
    return (sipHash(this.isnKey, this.scratch, 12) + Math.floor(now * 250)) >>> 0;
  }

  /** A per-address-pair TSval offset, so timestamps reveal no uptime (RFC 7323 §5.4, §7.1). */
  tsOffset(la: number, ra: number): number {
    put32(this.scratch, 0, la);
    put32(this.scratch, 4, ra);
    return sipHash(this.tsKey, this.scratch, 8);
  }

  /** The MAC of a SYN cookie: the tuple, the peer's ISN and the time counter (RFC 4987 §3.6). */
  cookie(la: number, lp: number, ra: number, rp: number, peerIsn: number, counter: number): number {
    this.tuple(la, lp, ra, rp);
    put32(this.scratch, 12, peerIsn);
    put32(this.scratch, 16, counter);
    return sipHash(this.cookieKey, this.scratch, 20);
  }
}
