import { gt, leq, lt, max, min, sub } from "./seq.js";

const NO_RANGES: number[] = [];

/**
 * The sender's SACK scoreboard (RFC 6675 §2): which bytes above SND.UNA the peer reported holding.
 * Sorted disjoint ranges, bounded in number: a block that would need more is ignored, which only
 * costs a needless retransmission later. Bytes under SND.UNA are pruned on every cumulative ACK.
 */
export class SackScoreboard {
  /** Range edges, allocated at the first SACK block (most connections never see one). */
  lefts: number[] = NO_RANGES;
  rights: number[] = NO_RANGES;
  count = 0;
  /** Bytes covered by the ranges. */
  sacked = 0;
  private readonly maxRanges: number = 0;

  constructor(maxRanges = 32) {
    this.maxRanges = maxRanges;
  }

  /** Highest sequence number SACKed plus one (RFC 6675 HighACK side), or `una` when empty. */
  highest(una: number): number {
    return this.count === 0 ? una : this.rights[this.count - 1]!;
  }

  clear(): void {
    this.count = 0;
    this.sacked = 0;
  }

  /**
   * Records a SACK block [l, r) that lies within (una, nxt]; returns the bytes newly marked.
   * Blocks outside that span (old, D-SACK, or forged) are ignored (RFC 2018 §8, RFC 6675 §5).
   */
  add(l: number, r: number, una: number, nxt: number): number {
    if (!lt(l, r) || !lt(una, r) || gt(r, nxt)) return 0;
    if (lt(l, una)) l = una;
    let i = 0;
    while (i < this.count && lt(this.rights[i]!, l)) i++;
    const before = this.sacked;
    if (i < this.count && leq(this.lefts[i]!, r)) {
      let left = min(l, this.lefts[i]!);
      let right = max(r, this.rights[i]!);
      let j = i;
      let covered = 0;
      while (j < this.count && leq(this.lefts[j]!, right)) {
        covered += sub(this.rights[j]!, this.lefts[j]!);
        right = max(right, this.rights[j]!);
        left = min(left, this.lefts[j]!);
        j++;
      }
      this.lefts[i] = left;
      this.rights[i] = right;
      const removed = j - i - 1;
      for (let k = j; k < this.count; k++) {
        this.lefts[k - removed] = this.lefts[k]!;
        this.rights[k - removed] = this.rights[k]!;
      }
      this.count -= removed;
      this.sacked += sub(right, left) - covered;
      return this.sacked - before;
    }
    if (this.count === this.maxRanges) return 0;
    if (this.lefts === NO_RANGES) {
      this.lefts = new Array<number>(this.maxRanges).fill(0);
      this.rights = new Array<number>(this.maxRanges).fill(0);
    }
    for (let k = this.count; k > i; k--) {
      this.lefts[k] = this.lefts[k - 1]!;
      this.rights[k] = this.rights[k - 1]!;
    }
    this.lefts[i] = l;
    this.rights[i] = r;
    this.count++;
    this.sacked += sub(r, l);
    return this.sacked - before;
  }

  /** Forgets everything below the new SND.UNA. */
  pruneBelow(una: number): void {
    let drop = 0;
    while (drop < this.count && leq(this.rights[drop]!, una)) {
      this.sacked -= sub(this.rights[drop]!, this.lefts[drop]!);
      drop++;
    }
    if (drop > 0) {
      for (let k = drop; k < this.count; k++) {
        this.lefts[k - drop] = this.lefts[k]!;
        this.rights[k - drop] = this.rights[k]!;
      }
      this.count -= drop;
    }
    if (this.count > 0 && lt(this.lefts[0]!, una)) {
      this.sacked -= sub(una, this.lefts[0]!);
      this.lefts[0] = una;
    }
  }

  /**
   * The first byte at or after `from` that is not SACKed and lies below the highest SACKed byte
   * (a hole RFC 6675 NextSeg() would retransmit), with the hole's length in {@link holeLength};
   * -1 when there is none.
   */
  nextHole(from: number): number {
    let s = from;
    for (let i = 0; i < this.count; i++) {
      if (lt(s, this.lefts[i]!)) {
        this.holeLength = sub(this.lefts[i]!, s);
        return s;
      }
      if (lt(s, this.rights[i]!)) s = this.rights[i]!;
    }
    return -1;
  }
  /** Length of the hole {@link nextHole} found. */
  holeLength = 0;

  /** Bytes not SACKed in [from, highest SACKed): holes deemed lost and not yet retransmitted. */
  holeBytesFrom(from: number): number {
    let n = 0;
    let s = from;
    for (let i = 0; i < this.count; i++) {
      if (lt(s, this.lefts[i]!)) n += sub(this.lefts[i]!, s);
      if (lt(s, this.rights[i]!)) s = this.rights[i]!;
    }
    return n;
  }
}
