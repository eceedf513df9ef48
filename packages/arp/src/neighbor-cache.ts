import { BROADCAST_MAC, isMulticastMac, type MacAddress, macEqual, ZERO_MAC } from "@userstack/ethernet";
import { DecodeError } from "@userstack/wire";
import { ArpOp, decodeArp, writeArp } from "./arp-packet.js";

/**
 * The state of a neighbour entry, after Linux's NUD states (RFC 4861 §7.3.2 names them for IPv6):
 *
 * - `incomplete`: resolution in progress (broadcast requests, packets queued);
 * - `reachable`: confirmed recently (a reply to us, or the upper layer made progress);
 * - `stale`: known but not confirmed for `reachableMs`; still used, probed on use;
 * - `probe`: being re-validated with unicast requests while still in use.
 */
export type NeighborState = "incomplete" | "reachable" | "stale" | "probe";

/** Configuration of a {@link NeighborCache}. Times in milliseconds. */
export interface NeighborConfig {
  /** Our hardware address (sender of every request and reply). */
  mac: MacAddress;
  /** Our IPv4 addresses: requests for them are answered; the first is the sender of our requests. */
  addresses: readonly number[];
  /** Most entries kept (Linux gc_thresh3: 1024); the oldest settled entry is evicted beyond it. */
  maxEntries?: number;
  /** Most packets waiting per unresolved address; the oldest is dropped beyond it. Default 16. */
  maxQueue?: number;
  /** Requests per resolution or re-validation before giving up. Default 3 (Linux mcast/ucast_solicit). */
  maxProbes?: number;
  /** Time between those requests. Default 1000 (Linux retrans_time). */
  retransmitMs?: number;
  /** How long a confirmation keeps an entry reachable. Default 30000 (Linux base_reachable_time). */
  reachableMs?: number;
  /**
   * An entry used within this long before its reachable time ends is re-validated by unicast
   * requests, so a busy neighbour never lapses. Default `maxProbes × retransmitMs` (3000).
   */
  refreshMs?: number;
  /** Unused stale entries are removed after this long. Default 60000 (Linux gc_stale_time). */
  staleMs?: number;
  /** Gratuitous ARP announcements sent by {@link NeighborCache.start}. Default 2 (RFC 5227 §2.3). */
  announcements?: number;
  /** Time between announcements. Default 2000 (RFC 5227 ANNOUNCE_INTERVAL). */
  announceIntervalMs?: number;
}

/**
 * What a {@link NeighborCache} asks its owner (the glue) to do. All arguments are lent for the call.
 * `P` is whatever the glue queues while an address resolves: a frame, a datagram and its socket…
 */
export interface NeighborEvents<P> {
  /** Send `packet` (a 28-byte ARP packet) in an Ethernet frame of type 0x0806 to `destination`. */
  sendArp(packet: Uint8Array, destination: MacAddress): void;
  /** `ip` is at `mac`: send the packets that waited for it, in order. */
  resolved(ip: number, mac: MacAddress, packets: readonly P[]): void;
  /**
   * Resolution of `ip` failed (no answer to `maxProbes` requests, or the entry was evicted): drop
   * the packets; their senders see the host as unreachable (EHOSTUNREACH).
   */
  unreachable(ip: number, packets: readonly P[]): void;
}

/** Counters of a {@link NeighborCache}; every drop has one. */
export interface NeighborStats {
  /** ARP packets given to `receive`. */
  received: number;
  /** … that failed to decode (truncated, not Ethernet/IPv4). */
  malformed: number;
  /** … with a multicast/broadcast sender MAC or a multicast/broadcast sender IP: ignored. */
  invalid: number;
  /** … that we sent ourselves (looped back by a switch or tap): ignored. */
  looped: number;
  /** … from another host claiming one of our addresses (RFC 5227 conflict): ignored. */
  conflicts: number;
  /** … neither for us nor about a known neighbour: ignored after the merge step. */
  notForUs: number;
  /** … whose operation is neither request nor reply (merged, otherwise ignored). */
  unknownOp: number;
  requestsReceived: number;
  repliesReceived: number;
  /** Replies we sent to requests for our addresses. */
  repliesSent: number;
  /** Broadcast requests sent to resolve an address. */
  requestsSent: number;
  /** Unicast requests sent to re-validate a known neighbour. */
  probesSent: number;
  /** Gratuitous ARP announcements sent. */
  announcementsSent: number;
  /** Packets queued while resolving. */
  queued: number;
  /** Queued packets dropped because the queue of their address was full (oldest first). */
  queueDrops: number;
  /** Resolutions that failed after `maxProbes` requests. */
  failures: number;
  /** Packets dropped with a failed resolution (reported through `unreachable`). */
  failedPackets: number;
  /** Re-validations that failed: the entry was removed. */
  probeFailures: number;
  /** Stale entries removed after `staleMs` unused. */
  expired: number;
  /** Entries evicted because the table was full. */
  evictions: number;
}

/** A copy of one entry, for diagnostics (`ip neigh`) and tests. */
export interface NeighborEntry {
  ip: number;
  state: NeighborState;
  /** A copy of the MAC (zeros while incomplete). */
  mac: MacAddress;
  /** Packets waiting (incomplete entries only). */
  queued: number;
}

interface Entry<P> {
  readonly ip: number;
  readonly mac: Uint8Array;
  state: NeighborState;
  /** When something must happen next to this entry (a request, a state change, removal). */
  timer: number;
  /** Requests sent in the current resolution or re-validation. */
  probes: number;
  confirmedAt: number;
  /** Last use or update: what garbage collection of stale entries counts from. */
  touchedAt: number;
  queue: P[];
}

function stats(): NeighborStats {
  return {
    received: 0,
    malformed: 0,
    invalid: 0,
    looped: 0,
    conflicts: 0,
    notForUs: 0,
    unknownOp: 0,
    requestsReceived: 0,
    repliesReceived: 0,
    repliesSent: 0,
    requestsSent: 0,
    probesSent: 0,
    announcementsSent: 0,
    queued: 0,
    queueDrops: 0,
    failures: 0,
    failedPackets: 0,
    probeFailures: 0,
    expired: 0,
    evictions: 0,
  };
}

/** A protocol address that may name a single neighbour: not 0.0.0.0, broadcast, multicast or class E. */
function unicastIp(ip: number): boolean {
  return ip !== 0 && ip >>> 28 < 0xe;
}

const NO_PACKETS: readonly never[] = [];

/**
 * The ARP neighbour cache of one Ethernet interface (RFC 826, with Linux's reachability states),
 * sans-IO: packets and `now` (milliseconds, any monotonic origin) come in; ARP packets to send and
 * resolution results go out through {@link NeighborEvents}; {@link deadline} says when to call
 * {@link poll} next. It never reads a clock or starts a timer.
 *
 * ```ts
 * const mac = cache.lookup(nextHop, now);          // hot path: a known neighbour, no allocation
 * if (mac) sendFrame(mac, datagram);
 * else cache.enqueue(nextHop, datagram.slice(), now); // resolves; `resolved`/`unreachable` follow
 * ```
 *
 * Memory is bounded whatever peers send: at most `maxEntries` entries, each with at most
 * `maxQueue` packets; entries are only created for packets that target us (RFC 826) or for our
 * own resolutions.
 */
export class NeighborCache<P> {
  /** Counters; read them, reset them as you like. */
  readonly stats: NeighborStats = stats();
  private readonly entries = new Map<number, Entry<P>>();
  private readonly mac: Uint8Array;
  private readonly addresses: readonly number[];
  private readonly maxEntries: number;
  private readonly maxQueue: number;
  private readonly maxProbes: number;
  private readonly retransmitMs: number;
  private readonly reachableMs: number;
  private readonly refreshMs: number;
  private readonly staleMs: number;
  private readonly announceIntervalMs: number;
  private readonly announcements: number;
  private announceLeft = 0;
  private announceAt = Number.POSITIVE_INFINITY;
  /** The earliest timer of any entry or announcement: `poll` does nothing before it. */
  private earliest = Number.POSITIVE_INFINITY;
  /** One buffer for every ARP packet sent: `sendArp` lends it. */
  private readonly out = new Uint8Array(28);

  constructor(
    config: NeighborConfig,
    private readonly events: NeighborEvents<P>,
  ) {
    if (config.mac.length !== 6) throw new RangeError("NeighborCache: mac must be 6 bytes");
    if (config.addresses.length === 0)
      throw new RangeError("NeighborCache: give at least one IPv4 address (the sender of our requests)");
    this.mac = config.mac.slice(0, 6);
    this.addresses = [...config.addresses];
    this.maxEntries = Math.max(1, config.maxEntries ?? 1024);
    this.maxQueue = Math.max(1, config.maxQueue ?? 16);
    this.maxProbes = Math.max(1, config.maxProbes ?? 3);
    this.retransmitMs = config.retransmitMs ?? 1000;
    this.reachableMs = config.reachableMs ?? 30_000;
    this.refreshMs = config.refreshMs ?? this.maxProbes * this.retransmitMs;
    this.staleMs = config.staleMs ?? 60_000;
    this.announcements = config.announcements ?? 2;
    this.announceIntervalMs = config.announceIntervalMs ?? 2000;
  }

  /** Number of entries. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * When {@link poll} must run next, or undefined when nothing is pending. It may be earlier than
   * needed (a resolution that completed keeps its retry time until the next poll), never later.
   */
  deadline(): number | undefined {
    return this.earliest === Number.POSITIVE_INFINITY ? undefined : this.earliest;
  }

  /**
   * Announces our addresses with gratuitous ARP (RFC 5227 §2.3 "ARP Announcement": a broadcast
   * request whose sender and target protocol addresses are both ours), `announcements` times,
   * `announceIntervalMs` apart: neighbours with an old entry for one of our addresses update it.
   */
  start(now: number): void {
    this.announceLeft = this.announcements;
    this.announce(now);
  }

  /**
   * The MAC to send to `ip` now (a view of the entry: copy it to keep it), or undefined when the
   * address is unknown or still resolving — then call {@link enqueue}. Marks the entry used; a
   * stale entry, or a reachable one close to expiry, starts a unicast re-validation here.
   */
  lookup(ip: number, now: number): MacAddress | undefined {
    const e = this.entries.get(ip);
    if (e === undefined || e.state === "incomplete") return undefined;
    e.touchedAt = now;
    if (e.state === "reachable") {
      const expires = e.confirmedAt + this.reachableMs;
      if (now < expires - this.refreshMs) return e.mac;
      this.startProbe(e, now);
    } else if (e.state === "stale") {
      this.startProbe(e, now);
    }
    return e.mac;
  }

  /**
   * Queues `packet` until `ip` resolves, starting the resolution (a broadcast request now, then
   * every `retransmitMs`, `maxProbes` in all) if none is running. The packet comes back through
   * `resolved` or `unreachable`; beyond `maxQueue` waiting packets the oldest is dropped. If `ip`
   * is already known, `resolved` is called at once.
   */
  enqueue(ip: number, packet: P, now: number): void {
    let e = this.entries.get(ip);
    if (e !== undefined && e.state !== "incomplete") {
      e.touchedAt = now;
      this.events.resolved(ip, e.mac, [packet]);
      return;
    }
    this.stats.queued++;
    if (e === undefined) {
      e = this.insert(ip, ZERO_MAC, "incomplete", now);
      e.queue.push(packet);
      e.probes = 1;
      this.sendRequest(ip, BROADCAST_MAC);
      this.stats.requestsSent++;
      this.schedule(e, now + this.retransmitMs);
      return;
    }
    if (e.queue.length >= this.maxQueue) {
      e.queue.shift();
      this.stats.queueDrops++;
    }
    e.queue.push(packet);
  }

  /**
   * Confirms that `ip` is reachable (the upper layer saw forward progress: new data acknowledged),
   * as Linux's neighbour confirmation does, so the entry stays reachable without ARP traffic.
   */
  confirm(ip: number, now: number): void {
    const e = this.entries.get(ip);
    if (e === undefined || e.state === "incomplete") return;
    this.makeReachable(e, now);
  }

  /**
   * Handles one received ARP packet (the Ethernet payload; padding allowed). RFC 826 "Packet
   * Reception": the sender's entry is updated if we have one (the merge); if we are the target,
   * an entry is created if there was none and a request is answered. Malformed and hostile
   * packets are counted and ignored; nothing is thrown.
   */
  receive(bytes: Uint8Array, now: number): void {
    this.stats.received++;
    const arp = decodeArp(bytes);
    if (arp instanceof DecodeError) {
      this.stats.malformed++;
      return;
    }
    const op = arp.op;
    if (op === ArpOp.Request) this.stats.requestsReceived++;
    else if (op === ArpOp.Reply) this.stats.repliesReceived++;
    else this.stats.unknownOp++;
    const sha = arp.senderMac;
    const spa = arp.senderIp;
    const tpa = arp.targetIp;
    if (isMulticastMac(sha) || (spa !== 0 && !unicastIp(spa))) {
      this.stats.invalid++;
      return;
    }
    if (macEqual(sha, this.mac)) {
      this.stats.looped++;
      return;
    }
    if (this.isOurs(spa)) {
      this.stats.conflicts++;
      return;
    }
    const forUs = this.isOurs(tpa);
    // RFC 826: "If the pair <protocol type, sender protocol address> is already in my translation
    // table, update the sender hardware address field of the entry with the new information in
    // the packet and set Merge_flag to true." A sender address of 0 is an RFC 5227 probe: no entry.
    let merged = false;
    if (spa !== 0) {
      const e = this.entries.get(spa);
      if (e !== undefined) {
        merged = true;
        this.update(e, sha, op === ArpOp.Reply && forUs, now);
      }
    }
    if (!forUs) {
      if (!merged) this.stats.notForUs++;
      return;
    }
    // "If Merge_flag is false, add the triplet <protocol type, sender protocol address, sender
    // hardware address> to the translation table." Stale: nothing confirmed it is reachable yet.
    if (!merged && spa !== 0) this.insert(spa, sha, "stale", now);
    // "Is the opcode ares_op$REQUEST? (NOW look at the opcode!!) Yes: swap hardware and protocol
    // fields, putting the local hardware and protocol addresses in the sender fields; set the
    // ar$op field to ares_op$REPLY; send the packet to the (new) target hardware address."
    if (op === ArpOp.Request) {
      writeArp(
        { op: ArpOp.Reply, senderMac: this.mac, senderIp: tpa, targetMac: sha, targetIp: spa },
        this.out,
      );
      this.stats.repliesSent++;
      this.events.sendArp(this.out, sha);
    }
  }

  /** Runs what is due at `now`: requests and re-validations, failures, expiry, announcements. */
  poll(now: number): void {
    if (now < this.earliest) return;
    // Recomputed from scratch; anything the events schedule meanwhile lowers it again.
    this.earliest = Number.POSITIVE_INFINITY;
    if (this.announceLeft > 0) {
      if (now >= this.announceAt) this.announce(now);
      else this.earliest = this.announceAt;
    }
    let earliest = Number.POSITIVE_INFINITY;
    for (const e of this.entries.values()) {
      if (e.timer <= now) this.fire(e, now);
      if (e.timer < earliest && this.entries.get(e.ip) === e) earliest = e.timer;
    }
    if (earliest < this.earliest) this.earliest = earliest;
  }

  /** A copy of the entry for `ip`, or undefined. */
  entry(ip: number): NeighborEntry | undefined {
    const e = this.entries.get(ip);
    return e === undefined ? undefined : { ip, state: e.state, mac: e.mac.slice(), queued: e.queue.length };
  }

  /** Copies of every entry, oldest first (for `ip neigh`-style diagnostics). */
  list(): NeighborEntry[] {
    return [...this.entries.keys()].map((ip) => this.entry(ip)!);
  }

  private isOurs(ip: number): boolean {
    const a = this.addresses;
    for (let i = 0; i < a.length; i++) if (a[i] === ip) return true;
    return false;
  }

  private announce(now: number): void {
    for (const ip of this.addresses) {
      writeArp(
        { op: ArpOp.Request, senderMac: this.mac, senderIp: ip, targetMac: ZERO_MAC, targetIp: ip },
        this.out,
      );
      this.stats.announcementsSent++;
      this.events.sendArp(this.out, BROADCAST_MAC);
    }
    this.announceLeft--;
    this.announceAt = this.announceLeft > 0 ? now + this.announceIntervalMs : Number.POSITIVE_INFINITY;
    if (this.announceAt < this.earliest) this.earliest = this.announceAt;
  }

  private sendRequest(ip: number, destination: MacAddress): void {
    writeArp(
      {
        op: ArpOp.Request,
        senderMac: this.mac,
        senderIp: this.addresses[0]!,
        targetMac: ZERO_MAC,
        targetIp: ip,
      },
      this.out,
    );
    this.events.sendArp(this.out, destination);
  }

  private schedule(e: Entry<P>, at: number): void {
    e.timer = at;
    if (at < this.earliest) this.earliest = at;
  }

  private insert(ip: number, mac: MacAddress, state: NeighborState, now: number): Entry<P> {
    if (this.entries.size >= this.maxEntries) this.evict();
    const e: Entry<P> = {
      ip,
      mac: mac.slice(0, 6),
      state,
      timer: Number.POSITIVE_INFINITY,
      probes: 0,
      confirmedAt: Number.NEGATIVE_INFINITY,
      touchedAt: now,
      queue: [],
    };
    this.entries.set(ip, e);
    if (state === "stale") this.schedule(e, now + this.staleMs);
    return e;
  }

  /** Makes room: the oldest settled entry goes first; only a table full of resolutions loses one. */
  private evict(): void {
    let victim: Entry<P> | undefined;
    for (const e of this.entries.values()) {
      if (e.state !== "incomplete") {
        victim = e;
        break;
      }
      victim ??= e;
    }
    if (victim === undefined) return;
    this.entries.delete(victim.ip);
    this.stats.evictions++;
    if (victim.state === "incomplete") this.fail(victim);
  }

  /** The merge step for an existing entry: new MAC and/or a confirmation. */
  private update(e: Entry<P>, mac: MacAddress, confirmed: boolean, now: number): void {
    const changed = !macEqual(e.mac, mac);
    if (changed) e.mac.set(mac.subarray(0, 6));
    e.touchedAt = now;
    if (e.state === "incomplete") {
      const queue = e.queue;
      e.queue = [];
      if (confirmed) this.makeReachable(e, now);
      else this.makeStale(e, now);
      this.events.resolved(e.ip, e.mac, queue);
      return;
    }
    if (confirmed) this.makeReachable(e, now);
    else if (changed) this.makeStale(e, now);
  }

  private makeReachable(e: Entry<P>, now: number): void {
    e.state = "reachable";
    e.confirmedAt = now;
    e.probes = 0;
    this.schedule(e, now + this.reachableMs);
  }

  private makeStale(e: Entry<P>, now: number): void {
    e.state = "stale";
    e.probes = 0;
    this.schedule(e, now + this.staleMs);
  }

  private startProbe(e: Entry<P>, now: number): void {
    e.state = "probe";
    e.probes = 1;
    this.sendRequest(e.ip, e.mac);
    this.stats.probesSent++;
    this.schedule(e, now + this.retransmitMs);
  }

  private fail(e: Entry<P>): void {
    const queue = e.queue;
    e.queue = [];
    this.stats.failures++;
    this.stats.failedPackets += queue.length;
    this.events.unreachable(e.ip, queue.length > 0 ? queue : NO_PACKETS);
  }

  private fire(e: Entry<P>, now: number): void {
    switch (e.state) {
      case "incomplete":
        if (e.probes < this.maxProbes) {
          e.probes++;
          this.sendRequest(e.ip, BROADCAST_MAC);
          this.stats.requestsSent++;
          e.timer = now + this.retransmitMs;
        } else {
          this.entries.delete(e.ip);
          this.fail(e);
        }
        return;
      case "probe":
        if (e.probes < this.maxProbes) {
          e.probes++;
          this.sendRequest(e.ip, e.mac);
          this.stats.probesSent++;
          e.timer = now + this.retransmitMs;
        } else {
          this.entries.delete(e.ip);
          this.stats.probeFailures++;
        }
        return;
      case "reachable":
        // Reachable time is over without a confirmation: stale until used (then probed) or collected.
        e.state = "stale";
        e.timer = e.touchedAt + this.staleMs;
        if (e.timer <= now) this.collect(e);
        return;
      case "stale":
        if (e.touchedAt + this.staleMs <= now) this.collect(e);
        else e.timer = e.touchedAt + this.staleMs;
        return;
    }
  }

  private collect(e: Entry<P>): void {
    this.entries.delete(e.ip);
    this.stats.expired++;
  }
}
