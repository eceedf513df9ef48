/**
 * Which peer each TCP connection came from, learned from received segments like a switch learns
 * MAC addresses: `(remote address, remote TCP port, local TCP port) → peer`. It lets a host answer
 * the right peer when several peers share one address (hosts on one machine, all 127.0.0.1).
 * Bounded: idle flows expire, and when the table is full new flows are not learned.
 */
export class FlowTable<P> {
  private readonly byAddress = new Map<number, Map<number, { peer: P; lastSeen: number }>>();
  private count = 0;

  constructor(
    private readonly idleMs: number,
    private readonly maxFlows: number,
  ) {}

  /** Number of flows held. */
  get size(): number {
    return this.count;
  }

  /** Records that `peer` carries the flow; `now` in ms. */
  learn(address: number, remotePort: number, localPort: number, peer: P, now: number): void {
    let ports = this.byAddress.get(address);
    const key = remotePort * 65536 + localPort;
    const e = ports?.get(key);
    if (e) {
      e.peer = peer;
      e.lastSeen = now;
      return;
    }
    if (this.count >= this.maxFlows) {
      this.expire(now);
      if (this.count >= this.maxFlows) return;
    }
    if (!ports) this.byAddress.set(address, (ports = new Map()));
    ports.set(key, { peer, lastSeen: now });
    this.count++;
  }

  /** The peer of a flow, when learned and not idle. */
  lookup(address: number, remotePort: number, localPort: number, now: number): P | undefined {
    const ports = this.byAddress.get(address);
    const key = remotePort * 65536 + localPort;
    const e = ports?.get(key);
    if (!e) return undefined;
    if (now - e.lastSeen > this.idleMs) {
      ports!.delete(key);
      this.count--;
      return undefined;
    }
    return e.peer;
  }

  /** Forgets every flow of `peer`. */
  forget(peer: P): void {
    for (const ports of this.byAddress.values())
      for (const [k, e] of ports)
        if (e.peer === peer) {
          ports.delete(k);
          this.count--;
        }
  }

  private expire(now: number): void {
    for (const [a, ports] of this.byAddress) {
      for (const [k, e] of ports)
        if (now - e.lastSeen > this.idleMs) {
          ports.delete(k);
          this.count--;
        }
      if (ports.size === 0) this.byAddress.delete(a);
    }
  }
}
