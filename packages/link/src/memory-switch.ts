import { u32 } from "@userstack/wire";
import type { Clock } from "./clock.js";
import { MemoryLink } from "./memory-link.js";
import { realClock } from "./real-clock.js";

/** Options for {@link MemorySwitch}. */
export interface MemorySwitchOptions {
  /** The clock for deliveries and MAC aging (default {@link realClock}). */
  clock?: Clock;
  /** Largest IP datagram on every port (default 1500). */
  mtu?: number;
  /** One-way delay through the switch in ms (default 0). */
  latencyMs?: number;
  /** How long a learned address stays without traffic from it (default 300 s, IEEE 802.1D's default). */
  agingMs?: number;
  /** Size of the address table (default 8192). When it is full, new stations are not learned and their traffic floods. */
  maxEntries?: number;
  /** Frames waiting per port before the switch drops (default 1024). */
  queueLimit?: number;
}

/** Counters of a {@link MemorySwitch}. */
export interface MemorySwitchStats {
  /** Unicast frames sent out of exactly one port. */
  forwarded: number;
  /** Frames sent out of every other port (broadcast, multicast, unknown or aged-out destination). */
  flooded: number;
  /** Frames whose destination sits on the port they came in on: not sent anywhere (802.1D filtering). */
  filtered: number;
  /** Frames shorter than an Ethernet header. */
  runts: number;
  /** Copies dropped because an egress port's queue was full. */
  queueFull: number;
  /** Addresses not learned because the table was full. */
  tableFull: number;
}

/** One entry of the address table, as {@link MemorySwitch.table} reports it. */
export interface MacTableEntry {
  /** `aa:bb:cc:dd:ee:ff`. */
  mac: string;
  /** The port the address was last seen on. */
  port: number;
  /** `clock.now()` when a frame from it last arrived. */
  lastSeen: number;
}

interface Station {
  port: MemoryLink;
  lastSeen: number;
}

const ETHERNET_HEADER = 14;

/** The 48-bit MAC at `at` as a number: exact in a double, a cheap Map key. */
function macKey(frame: Uint8Array, at: number): number {
  return ((frame[at]! << 8) | frame[at + 1]!) * 2 ** 32 + u32(frame, at + 2);
}

function formatMacKey(key: number): string {
  return Array.from({ length: 6 }, (_, i) =>
    (Math.floor(key / 2 ** (8 * (5 - i))) % 256).toString(16).padStart(2, "0"),
  ).join(":");
}

/**
 * A learning Ethernet switch (IEEE 802.1D transparent bridging) joining any number of stacks in
 * one process. Each {@link port} is a {@link MemoryLink}. The switch learns which port each source
 * address lives behind, forwards unicast frames to that port only, floods broadcast, multicast and
 * unknown destinations to every port but the one the frame came in on, never sends a frame back
 * out of its own port, and forgets addresses unheard for `agingMs`. Deliveries run from the clock,
 * in batches per port, so a switch in virtual time is deterministic.
 *
 * ```ts
 * const sw = new MemorySwitch({ clock });
 * const links = [sw.port(), sw.port(), sw.port()]; // one per stack
 * ```
 */
export class MemorySwitch {
  readonly stats: MemorySwitchStats = {
    forwarded: 0,
    flooded: 0,
    filtered: 0,
    runts: 0,
    queueFull: 0,
    tableFull: 0,
  };
  readonly mtu: number;
  private readonly clock: Clock;
  private readonly latencyMs: number;
  private readonly agingMs: number;
  private readonly maxEntries: number;
  private readonly queueLimit: number;
  private readonly ports: MemoryLink[] = [];
  private readonly stations = new Map<number, Station>();
  private nextId = 0;

  constructor(options: MemorySwitchOptions = {}) {
    this.clock = options.clock ?? realClock();
    this.mtu = options.mtu ?? 1500;
    this.latencyMs = options.latencyMs ?? 0;
    this.agingMs = options.agingMs ?? 300_000;
    this.maxEntries = options.maxEntries ?? 8192;
    this.queueLimit = options.queueLimit ?? 1024;
    if (!(this.mtu >= 68))
      throw new RangeError(`MemorySwitch: mtu ${this.mtu} is below IPv4's minimum of 68`);
  }

  /** Plugs in a new port: an Ethernet {@link MemoryLink} whose `id` is the port number. */
  port(): MemoryLink {
    const link = new MemoryLink(
      "ethernet",
      this.mtu,
      this.nextId++,
      this.clock,
      this.latencyMs,
      this.queueLimit,
      this.ingress,
      this.unplug,
    );
    this.ports.push(link);
    return link;
  }

  /** The port number `mac` was learned on, or undefined (unknown or aged out). */
  lookup(mac: Uint8Array): number | undefined {
    const s = this.station(macKey(mac, 0));
    return s?.port.id;
  }

  /** The live address table, oldest entries first. */
  table(): MacTableEntry[] {
    const now = this.clock.now();
    const out: MacTableEntry[] = [];
    for (const [key, s] of this.stations)
      if (now - s.lastSeen <= this.agingMs)
        out.push({ mac: formatMacKey(key), port: s.port.id, lastSeen: s.lastSeen });
    return out;
  }

  /** Closes every port. */
  async close(): Promise<void> {
    await Promise.all([...this.ports].map((p) => p.close()));
  }

  private station(key: number): Station | undefined {
    const s = this.stations.get(key);
    if (s && this.clock.now() - s.lastSeen > this.agingMs) {
      this.stations.delete(key);
      return undefined;
    }
    return s;
  }

  private learn(key: number, port: MemoryLink, now: number): void {
    const s = this.stations.get(key);
    if (s) {
      s.port = port; // a station that moved is found on its new port at once
      s.lastSeen = now;
      return;
    }
    if (this.stations.size >= this.maxEntries) {
      for (const [k, old] of this.stations) if (now - old.lastSeen > this.agingMs) this.stations.delete(k);
      if (this.stations.size >= this.maxEntries) {
        this.stats.tableFull++;
        return;
      }
    }
    this.stations.set(key, { port, lastSeen: now });
  }

  private readonly ingress = (from: MemoryLink, frame: Uint8Array): boolean => {
    if (frame.length < ETHERNET_HEADER) {
      this.stats.runts++;
      return true; // the sender sent it; the switch dropped it
    }
    // A group address is never a valid source (802.1D §7.8): do not learn it.
    if ((frame[6]! & 1) === 0) this.learn(macKey(frame, 6), from, this.clock.now());
    if ((frame[0]! & 1) === 0) {
      const to = this.station(macKey(frame, 0));
      if (to) {
        if (to.port === from) this.stats.filtered++;
        else {
          this.stats.forwarded++;
          if (!to.port.inbound.push(frame)) this.stats.queueFull++;
        }
        return true;
      }
    }
    this.stats.flooded++;
    for (const p of this.ports) if (p !== from && !p.inbound.push(frame)) this.stats.queueFull++;
    return true;
  };

  private readonly unplug = (link: MemoryLink): void => {
    const i = this.ports.indexOf(link);
    if (i >= 0) this.ports.splice(i, 1);
    for (const [k, s] of this.stations) if (s.port === link) this.stations.delete(k);
  };
}
