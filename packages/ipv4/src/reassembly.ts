import { put16 } from "@userstack/wire";
import { onesComplementSum } from "./checksum.js";
import { IPV4_MAX_HEADER_LENGTH, IPV4_MAX_TOTAL_LENGTH, Ipv4View } from "./ipv4-packet.js";

/** Configuration of a {@link Reassembler}. */
export interface ReassemblyConfig {
  /**
   * Time from a datagram's first fragment until it is abandoned, in ms. Default 30000, Linux's
   * ipfrag_time (RFC 1122 §3.3.2 recommends 60–120 s; RFC 791's TTL-derived timer is obsolete).
   */
  timeoutMs?: number;
  /** Memory all datagrams being reassembled may hold, in bytes. Default 1 MiB. The oldest go first. */
  maxBytes?: number;
  /** Most fragments one datagram may arrive in (a bound on per-datagram work). Default 256. */
  maxFragments?: number;
}

/** Counters of a {@link Reassembler}: every fragment ends up in one of them or in a datagram. */
export interface ReassemblyStats {
  /** Fragments given to `add`. */
  fragments: number;
  /** Datagrams completed. */
  reassembled: number;
  /** Datagrams abandoned when their timer ran out. */
  timeouts: number;
  /** Datagrams dropped because two fragments overlapped (RFC 5722 policy). */
  overlaps: number;
  /** Exact duplicate fragments, ignored. */
  duplicates: number;
  /** Datagrams dropped because they would exceed 65535 bytes. */
  oversize: number;
  /** Fragments dropped as malformed: empty, or not a multiple of 8 bytes with more to follow. */
  badFragments: number;
  /** Datagrams dropped because fragments disagreed on where the datagram ends. */
  inconsistent: number;
  /** Datagrams dropped for arriving in more than `maxFragments` fragments. */
  tooManyFragments: number;
  /** Datagrams dropped to stay within `maxBytes`. */
  evicted: number;
}

/** Bytes a datagram being reassembled is charged beyond its buffer (bookkeeping, fragment list). */
const OVERHEAD = 256;
/** Where the payload starts in a reassembly buffer: room for the longest header in front of it. */
const HEAD = IPV4_MAX_HEADER_LENGTH;

interface Pending {
  readonly key: string;
  readonly createdAt: number;
  buffer: Uint8Array;
  /** Header length of fragment zero, or 0 until it arrives. */
  headerLength: number;
  /** Fragments as [start, end) payload offsets, sorted, two numbers each. */
  ranges: number[];
  /** Payload bytes received. */
  received: number;
  /** Payload length, known once the last fragment (MF = 0) arrived; -1 before. */
  total: number;
  /** The memory this datagram is charged. */
  charged: number;
}

/**
 * IPv4 reassembly (RFC 791 §3.2, RFC 1122 §3.3.2, RFC 815's idea of tracking what arrived),
 * sans-IO. Datagrams are keyed by source, destination, protocol and identification. Overlapping
 * fragments drop the whole datagram, as RFC 5722 prescribes for IPv6 and Linux does for IPv4
 * (the defence against overlap attacks); exact duplicates are ignored. Memory is bounded by
 * `maxBytes` whatever peers send: when a new fragment would exceed it, the oldest datagrams go.
 */
export class Reassembler {
  readonly stats: ReassemblyStats = {
    fragments: 0,
    reassembled: 0,
    timeouts: 0,
    overlaps: 0,
    duplicates: 0,
    oversize: 0,
    badFragments: 0,
    inconsistent: 0,
    tooManyFragments: 0,
    evicted: 0,
  };
  private readonly pending = new Map<string, Pending>();
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly maxFragments: number;
  private used = 0;

  constructor(config: ReassemblyConfig = {}) {
    this.timeoutMs = config.timeoutMs ?? 30_000;
    this.maxBytes = config.maxBytes ?? 1 << 20;
    this.maxFragments = config.maxFragments ?? 256;
  }

  /** Datagrams being reassembled. */
  get size(): number {
    return this.pending.size;
  }
  /** Bytes charged to them. */
  get memory(): number {
    return this.used;
  }

  /** When {@link poll} must run next (the oldest datagram's timeout), or undefined. */
  deadline(): number | undefined {
    for (const p of this.pending.values()) return p.createdAt + this.timeoutMs;
    return undefined;
  }

  /**
   * Abandons datagrams whose timer ran out. For each that had its first fragment, `onTimeout`
   * gets that fragment's header and the data received from offset 0 (lent): RFC 1122 §3.3.2 says
   * an ICMP Time Exceeded (fragment reassembly) SHOULD then be sent.
   */
  poll(now: number, onTimeout?: (firstFragment: Uint8Array) => void): void {
    for (const p of this.pending.values()) {
      if (p.createdAt + this.timeoutMs > now) break; // insertion order is creation order
      this.drop(p);
      this.stats.timeouts++;
      if (p.headerLength > 0 && onTimeout)
        onTimeout(p.buffer.subarray(HEAD - p.headerLength, HEAD + p.ranges[1]!));
    }
  }

  /**
   * Adds one fragment (a decoded datagram with MF set or a non-zero offset). Returns the whole
   * datagram when this fragment completes it — a view over a buffer that now belongs to the caller,
   * with the first fragment's header (options included), MF and offset cleared, the total length
   * and header checksum rewritten — or undefined.
   */
  add(fragment: Ipv4View, now: number): Ipv4View | undefined {
    this.stats.fragments++;
    const offset = fragment.fragmentOffset;
    const data = fragment.payload;
    const more = fragment.moreFragments;
    // RFC 791 §3.2: every fragment but the last carries a multiple of 8 data octets.
    if (data.length === 0 || (more && (data.length & 7) !== 0)) {
      this.stats.badFragments++;
      return undefined;
    }
    const end = offset + data.length;
    const key = `${fragment.source}:${fragment.destination}:${fragment.protocol}:${fragment.identification}`;
    let p = this.pending.get(key);
    if (p === undefined) {
      p = {
        key,
        createdAt: now,
        buffer: new Uint8Array(0),
        headerLength: 0,
        ranges: [],
        received: 0,
        total: -1,
        charged: 0,
      };
      this.pending.set(key, p);
    }
    // The reassembled datagram must fit the 16-bit total length ("ping of death"). Its header is
    // fragment zero's; until that arrives, count the shortest one.
    const headerLength = offset === 0 ? fragment.headerLength : p.headerLength || 20;
    const furthest = Math.max(end, p.ranges.length > 0 ? p.ranges[p.ranges.length - 1]! : 0);
    if (furthest + headerLength > IPV4_MAX_TOTAL_LENGTH) {
      this.stats.oversize++;
      this.drop(p);
      return undefined;
    }
    if (!more) {
      if (
        (p.total !== -1 && p.total !== end) ||
        (p.ranges.length > 0 && p.ranges[p.ranges.length - 1]! > end)
      ) {
        this.stats.inconsistent++;
        this.drop(p);
        return undefined;
      }
      p.total = end;
    } else if (p.total !== -1 && end > p.total) {
      this.stats.inconsistent++;
      this.drop(p);
      return undefined;
    }
    // Find where [offset, end) goes among the fragments already here.
    const r = p.ranges;
    let i = 0;
    while (i < r.length && r[i]! < offset) i += 2;
    if (i < r.length && r[i] === offset && r[i + 1] === end) {
      this.stats.duplicates++;
      return undefined;
    }
    if ((i > 0 && r[i - 1]! > offset) || (i < r.length && r[i]! < end)) {
      this.stats.overlaps++;
      this.drop(p);
      return undefined;
    }
    if (r.length >= 2 * this.maxFragments) {
      this.stats.tooManyFragments++;
      this.drop(p);
      return undefined;
    }
    if (!this.reserve(p, end)) return undefined;
    r.splice(i, 0, offset, end);
    p.buffer.set(data, HEAD + offset);
    p.received += data.length;
    if (offset === 0) {
      const hl = fragment.headerLength;
      p.headerLength = hl;
      p.buffer.set(fragment.header, HEAD - hl);
    }
    if (p.total === -1 || p.received !== p.total || p.headerLength === 0) return undefined;
    // No overlaps and every byte of [0, total) accounted for: complete.
    this.pending.delete(p.key);
    this.used -= p.charged;
    this.stats.reassembled++;
    const hl = p.headerLength;
    const start = HEAD - hl;
    const b = p.buffer;
    put16(b, start + 2, hl + p.total);
    b[start + 6] = b[start + 6]! & 0xc0; // keep reserved and DF; clear MF and the offset
    b[start + 7] = 0;
    put16(b, start + 10, 0);
    put16(b, start + 10, ~onesComplementSum(b, start, HEAD) & 0xffff);
    return new Ipv4View(b.subarray(start, HEAD + p.total));
  }

  /** Grows `p`'s buffer to hold payload up to `end`, within the memory bound; false when it cannot. */
  private reserve(p: Pending, end: number): boolean {
    if (p.buffer.length >= HEAD + end) return true;
    // Grow geometrically (at least a full Ethernet datagram), never past the largest datagram.
    const size = HEAD + Math.min(IPV4_MAX_TOTAL_LENGTH, Math.max(end, 1500, 2 * (p.buffer.length - HEAD)));
    const charge = size + OVERHEAD - p.charged;
    while (this.used + charge > this.maxBytes) {
      const oldest = this.pending.values().next().value as Pending;
      this.stats.evicted++;
      this.drop(oldest);
      if (oldest === p) return false;
    }
    const grown = new Uint8Array(size);
    if (p.buffer.length > 0) grown.set(p.buffer);
    p.buffer = grown;
    p.charged += charge;
    this.used += charge;
    return true;
  }

  private drop(p: Pending): void {
    if (this.pending.get(p.key) === p) {
      this.pending.delete(p.key);
      this.used -= p.charged;
    }
  }
}
