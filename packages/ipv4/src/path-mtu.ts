/** RFC 1191 §3: no path MTU estimate goes below 68 octets, the minimum every IPv4 link carries. */
export const IPV4_MIN_MTU = 68;

/**
 * Path MTU estimates per destination (RFC 1191), learnt from ICMP "fragmentation needed" and
 * aged out after `ageMs` (RFC 1191 §6.3 suggests 10 minutes) so that a larger MTU is tried again.
 * Bounded: beyond `maxEntries` the oldest estimate is forgotten.
 */
export class PathMtuCache {
  private readonly entries = new Map<number, { mtu: number; expiresAt: number }>();

  constructor(
    private readonly maxEntries = 256,
    private readonly ageMs = 600_000,
  ) {}

  /** Estimates held. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Records a smaller path MTU for `destination` (from a "fragmentation needed" message). Values
   * below 68 are raised to 68; an estimate never grows here, only by aging (RFC 1191 §6.3).
   * Returns the estimate now in force.
   */
  update(destination: number, mtu: number, now: number): number {
    const value = Math.max(IPV4_MIN_MTU, Math.floor(mtu));
    const old = this.entries.get(destination);
    if (old !== undefined && old.expiresAt > now && old.mtu <= value) return old.mtu;
    this.entries.delete(destination);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(destination, { mtu: value, expiresAt: now + this.ageMs });
    return value;
  }

  /** The estimate for `destination`, or `fallback` (the link MTU) when there is none or it aged out. */
  get(destination: number, fallback: number, now: number): number {
    const e = this.entries.get(destination);
    if (e === undefined) return fallback;
    if (e.expiresAt <= now) {
      this.entries.delete(destination);
      return fallback;
    }
    return Math.min(e.mtu, fallback);
  }
}
