import type { IcmpView } from "./icmp-message.js";

/** A matched echo reply. */
export interface PingReply {
  destination: number;
  identifier: number;
  sequence: number;
  /** Round-trip time from the `now` of the request to the `now` of the reply, in ms. */
  rttMs: number;
  /** TTL of the reply datagram. */
  ttl: number;
  /** Echoed data bytes. */
  bytes: number;
}

/** An echo request that got no reply in time. */
export interface PingTimeout {
  destination: number;
  identifier: number;
  sequence: number;
}

interface Outstanding {
  destination: number;
  sentAt: number;
  expiresAt: number;
  size: number;
}

/**
 * The bookkeeping of a ping client (like iputils ping): one identifier, a sequence number per
 * request, the time each was sent, and its timeout — all in the `now` values passed in. A reply
 * matches by identifier, sequence and source, and must echo the data unchanged (RFC 792).
 */
export class PingClient {
  private readonly outstanding = new Map<number, Outstanding>();
  private nextSequence = 0;

  constructor(
    readonly identifier: number,
    private readonly maxOutstanding: number,
  ) {}

  /** Requests waiting for a reply. */
  get size(): number {
    return this.outstanding.size;
  }

  /**
   * Registers a request to `destination` and writes its data (`size` bytes of a pattern derived
   * from the sequence number) into `data`. Returns the sequence number, or -1 when
   * `maxOutstanding` requests are already waiting.
   */
  start(destination: number, size: number, now: number, timeoutMs: number, data: Uint8Array): number {
    if (this.outstanding.size >= this.maxOutstanding) return -1;
    let sequence = this.nextSequence;
    // Skip sequence numbers still waiting (after 65536 requests, a very slow one may remain).
    while (this.outstanding.has(sequence)) sequence = (sequence + 1) & 0xffff;
    this.nextSequence = (sequence + 1) & 0xffff;
    for (let i = 0; i < size; i++) data[i] = (sequence + i) & 0xff;
    this.outstanding.set(sequence, { destination, sentAt: now, expiresAt: now + timeoutMs, size });
    return sequence;
  }

  /**
   * Matches an echo reply from `source`. Returns the reply, undefined when it is not ours
   * (another identifier, an unknown sequence, another source), or "corrupt" when it is ours but
   * its data differ from what we sent (the request stays outstanding).
   */
  match(icmp: IcmpView, source: number, ttl: number, now: number): PingReply | "corrupt" | undefined {
    if (icmp.identifier !== this.identifier) return undefined;
    const sequence = icmp.sequence;
    const o = this.outstanding.get(sequence);
    if (o === undefined || o.destination !== source) return undefined;
    const data = icmp.data;
    if (data.length !== o.size) return "corrupt";
    for (let i = 0; i < data.length; i++) if (data[i] !== ((sequence + i) & 0xff)) return "corrupt";
    this.outstanding.delete(sequence);
    return {
      destination: source,
      identifier: this.identifier,
      sequence,
      rttMs: now - o.sentAt,
      ttl,
      bytes: data.length,
    };
  }

  /** Drops the requests whose timeout passed, reporting each. */
  expire(now: number, onTimeout: (t: PingTimeout) => void): void {
    for (const [sequence, o] of this.outstanding) {
      if (o.expiresAt > now) continue;
      this.outstanding.delete(sequence);
      onTimeout({ destination: o.destination, identifier: this.identifier, sequence });
    }
  }

  /** The earliest timeout, or undefined. */
  deadline(): number | undefined {
    let d = Number.POSITIVE_INFINITY;
    for (const o of this.outstanding.values()) if (o.expiresAt < d) d = o.expiresAt;
    return d === Number.POSITIVE_INFINITY ? undefined : d;
  }
}
