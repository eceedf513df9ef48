import { BROADCAST_MAC, decodeEthernet, EtherType, formatMac, parseMac, ZERO_MAC } from "@userstack/ethernet";
import { decodePcap } from "@userstack/pcap";
import { readFixture } from "@userstack/testkit";
import { DecodeError, toHex } from "@userstack/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ArpHeader, ArpOp, decodeArp, encodeArp, NeighborCache, type NeighborConfig } from "./index.js";

const US = parseMac("02:00:00:00:00:01")!;
const B = parseMac("02:00:00:00:00:02")!;
const C = parseMac("02:00:00:00:00:03")!;
const IP_US = 0x0a000001;
const IP_US2 = 0x0a000063;
const IP_B = 0x0a000002;
const IP_C = 0x0a000003;
const IP_D = 0x0a000004;

interface Sent {
  op: number;
  sender: string;
  senderIp: number;
  target: string;
  targetIp: number;
  to: string;
}

/** A cache with recorded outputs, driven in virtual time by plain numbers. */
function harness(config: Partial<NeighborConfig> = {}) {
  const sent: Sent[] = [];
  const resolved: [number, string, string[]][] = [];
  const unreachable: [number, string[]][] = [];
  const cache = new NeighborCache<string>(
    { mac: US, addresses: [IP_US, IP_US2], ...config },
    {
      sendArp(packet, destination) {
        expect(packet.length).toBe(28);
        const a = decodeArp(packet);
        if (a instanceof DecodeError) throw new Error(String(a));
        sent.push({
          op: a.op,
          sender: formatMac(a.senderMac),
          senderIp: a.senderIp,
          target: formatMac(a.targetMac),
          targetIp: a.targetIp,
          to: formatMac(destination),
        });
      },
      resolved: (ip, mac, packets) => resolved.push([ip, formatMac(mac), [...packets]]),
      unreachable: (ip, packets) => unreachable.push([ip, [...packets]]),
    },
  );
  /** Runs every deadline up to `until`, as the glue's timer queue would. */
  const runUntil = (until: number) => {
    for (let d = cache.deadline(); d !== undefined && d <= until; d = cache.deadline()) cache.poll(d);
  };
  return { cache, sent, resolved, unreachable, runUntil };
}

const arp = (h: Partial<ArpHeader> & Pick<ArpHeader, "op" | "senderMac" | "senderIp" | "targetIp">) =>
  encodeArp({ targetMac: ZERO_MAC, ...h });
const replyFromB = (mac = B) =>
  arp({ op: ArpOp.Reply, senderMac: mac, senderIp: IP_B, targetMac: US, targetIp: IP_US });

describe("gratuitous ARP on start (RFC 5227 §2.3)", () => {
  it("announces every address twice, 2 s apart, as broadcast requests for themselves", () => {
    const { cache, sent, runUntil } = harness();
    cache.start(100);
    expect(sent).toEqual([
      {
        op: 1,
        sender: formatMac(US),
        senderIp: IP_US,
        target: "00:00:00:00:00:00",
        targetIp: IP_US,
        to: "ff:ff:ff:ff:ff:ff",
      },
      {
        op: 1,
        sender: formatMac(US),
        senderIp: IP_US2,
        target: "00:00:00:00:00:00",
        targetIp: IP_US2,
        to: "ff:ff:ff:ff:ff:ff",
      },
    ]);
    expect(cache.deadline()).toBe(2100);
    cache.poll(2099);
    expect(sent.length).toBe(2);
    runUntil(10_000);
    expect(sent.length).toBe(4);
    expect(cache.deadline()).toBeUndefined();
    expect(cache.stats.announcementsSent).toBe(4);
  });
});

describe("resolution", () => {
  it("sends one broadcast request, queues packets, and releases them in order on the reply", () => {
    const { cache, sent, resolved } = harness();
    expect(cache.lookup(IP_B, 0)).toBeUndefined();
    cache.enqueue(IP_B, "p1", 0);
    cache.enqueue(IP_B, "p2", 10);
    cache.enqueue(IP_B, "p3", 20);
    expect(sent).toEqual([
      {
        op: 1,
        sender: formatMac(US),
        senderIp: IP_US,
        target: "00:00:00:00:00:00",
        targetIp: IP_B,
        to: "ff:ff:ff:ff:ff:ff",
      },
    ]);
    expect(cache.entry(IP_B)).toMatchObject({ state: "incomplete", queued: 3 });
    expect(cache.deadline()).toBe(1000);
    cache.receive(replyFromB(), 300);
    expect(resolved).toEqual([[IP_B, formatMac(B), ["p1", "p2", "p3"]]]);
    expect(cache.entry(IP_B)).toMatchObject({ state: "reachable", queued: 0 });
    expect(formatMac(cache.lookup(IP_B, 301)!)).toBe(formatMac(B));
    // A deadline may come early (never late): polling it sends nothing and moves it on.
    cache.poll(cache.deadline()!);
    expect(sent.length).toBe(1);
    expect(cache.deadline()).toBe(30_300);
    expect(cache.stats).toMatchObject({ requestsSent: 1, repliesReceived: 1, queued: 3, queueDrops: 0 });
  });

  it("retries 3 times 1 s apart, then reports the queued packets unreachable (EHOSTUNREACH)", () => {
    const { cache, sent, unreachable, runUntil } = harness();
    cache.enqueue(IP_B, "p1", 5000);
    cache.poll(5999);
    expect(sent.length).toBe(1);
    const times: number[] = [5000];
    for (let d = cache.deadline(); d !== undefined && d < 20_000; d = cache.deadline()) {
      cache.poll(d);
      if (sent.length > times.length) times.push(d);
    }
    expect(times).toEqual([5000, 6000, 7000]);
    expect(sent.every((s) => s.to === "ff:ff:ff:ff:ff:ff" && s.targetIp === IP_B)).toBe(true);
    expect(unreachable).toEqual([[IP_B, ["p1"]]]);
    expect(cache.entry(IP_B)).toBeUndefined();
    expect(cache.stats).toMatchObject({ requestsSent: 3, failures: 1, failedPackets: 1 });
    // A later packet starts a fresh resolution.
    cache.enqueue(IP_B, "p2", 30_000);
    expect(sent.length).toBe(4);
    runUntil(40_000);
    expect(unreachable.length).toBe(2);
  });

  it("drops the oldest queued packet beyond the bound, and counts it", () => {
    const { cache, resolved } = harness({ maxQueue: 3 });
    for (const p of ["a", "b", "c", "d", "e"]) cache.enqueue(IP_B, p, 0);
    expect(cache.stats.queueDrops).toBe(2);
    cache.receive(replyFromB(), 1);
    expect(resolved[0]![2]).toEqual(["c", "d", "e"]);
  });

  it("resolves from the target's own request too (it is asking for us at the same time)", () => {
    const { cache, resolved, sent } = harness();
    cache.enqueue(IP_B, "p", 0);
    cache.receive(arp({ op: ArpOp.Request, senderMac: B, senderIp: IP_B, targetIp: IP_US }), 5);
    expect(resolved).toEqual([[IP_B, formatMac(B), ["p"]]]);
    expect(cache.entry(IP_B)!.state).toBe("stale"); // heard, not confirmed
    expect(sent.at(-1)).toMatchObject({ op: 2, to: formatMac(B), targetIp: IP_B, senderIp: IP_US });
  });
});

describe("reachability: expiry, refresh, garbage collection", () => {
  function resolvedAt(t: number, config: Partial<NeighborConfig> = {}) {
    const h = harness(config);
    h.cache.enqueue(IP_B, "p", t);
    h.cache.receive(replyFromB(), t);
    h.sent.length = 0;
    return h;
  }

  it("re-validates a neighbour in use before its reachable time ends, with unicast requests", () => {
    const { cache, sent, runUntil } = resolvedAt(0);
    runUntil(26_000);
    expect(cache.lookup(IP_B, 26_000)).toBeDefined();
    expect(sent).toEqual([]); // outside the 3 s refresh window
    expect(cache.lookup(IP_B, 27_500)).toBeDefined();
    expect(sent).toEqual([
      {
        op: 1,
        sender: formatMac(US),
        senderIp: IP_US,
        target: "00:00:00:00:00:00",
        targetIp: IP_B,
        to: formatMac(B),
      },
    ]);
    expect(cache.entry(IP_B)!.state).toBe("probe");
    cache.receive(replyFromB(), 27_600);
    expect(cache.entry(IP_B)!.state).toBe("reachable");
    // Confirmed at 27.6 s: no traffic until the next refresh window, and the entry never lapsed.
    runUntil(54_000);
    expect(cache.lookup(IP_B, 54_000)).toBeDefined();
    expect(sent.length).toBe(1);
    expect(cache.stats.probesSent).toBe(1);
  });

  it("removes a neighbour that stops answering re-validation after 3 unicast requests", () => {
    const { cache, sent, runUntil } = resolvedAt(0);
    cache.lookup(IP_B, 27_500);
    runUntil(40_000);
    expect(sent.map((s) => s.to)).toEqual([formatMac(B), formatMac(B), formatMac(B)]);
    expect(cache.entry(IP_B)).toBeUndefined();
    expect(cache.stats.probeFailures).toBe(1);
    expect(cache.lookup(IP_B, 40_000)).toBeUndefined();
  });

  it("lets an unused entry go stale after 30 s and collects it 60 s after last use", () => {
    const { cache, sent, runUntil } = resolvedAt(1000);
    runUntil(31_000);
    expect(cache.entry(IP_B)!.state).toBe("stale");
    runUntil(60_999);
    expect(cache.entry(IP_B)).toBeDefined();
    runUntil(61_000);
    expect(cache.entry(IP_B)).toBeUndefined();
    expect(cache.stats.expired).toBe(1);
    expect(sent).toEqual([]);
  });

  it("probes a stale entry when it is used again, and keeps sending to the known MAC meanwhile", () => {
    const { cache, sent, runUntil } = resolvedAt(0);
    runUntil(40_000);
    expect(cache.entry(IP_B)!.state).toBe("stale");
    expect(formatMac(cache.lookup(IP_B, 40_000)!)).toBe(formatMac(B));
    expect(sent.length).toBe(1);
    expect(sent[0]!.to).toBe(formatMac(B));
  });

  it("stays reachable on upper-layer confirmation without ARP traffic", () => {
    const { cache, sent } = resolvedAt(0);
    for (let t = 20_000; t <= 200_000; t += 20_000) {
      cache.confirm(IP_B, t);
      cache.poll(t);
      expect(cache.lookup(IP_B, t + 1)).toBeDefined();
    }
    expect(sent).toEqual([]);
    expect(cache.entry(IP_B)!.state).toBe("reachable");
  });
});

describe("RFC 826 packet reception", () => {
  it("answers the kernel's request exactly as the kernel it asked did (arp-ping.pcap)", () => {
    const f = decodePcap(readFixture("arp-ping.pcap"));
    if (f instanceof DecodeError) throw new Error(String(f));
    const [request, reply] = f.records
      .slice(0, 2)
      .map((r) => decodeEthernet(r.data) as { etherType: number; payload: Uint8Array });
    expect([request!.etherType, reply!.etherType]).toEqual([EtherType.Arp, EtherType.Arp]);
    const out: [string, string][] = [];
    const cache = new NeighborCache<never>(
      { mac: parseMac("ea:38:8b:53:e8:8d")!, addresses: [0x0a090002] },
      { sendArp: (p, to) => out.push([toHex(p), formatMac(to)]), resolved: () => {}, unreachable: () => {} },
    );
    cache.receive(request!.payload, 0);
    expect(out).toEqual([[toHex(reply!.payload), "66:d9:aa:c2:02:d4"]]);
    expect(formatMac(cache.entry(0x0a090001)!.mac)).toBe("66:d9:aa:c2:02:d4");
  });

  it("answers requests for each of our addresses, to the requester, and learns it", () => {
    const { cache, sent } = harness();
    cache.receive(arp({ op: ArpOp.Request, senderMac: C, senderIp: IP_C, targetIp: IP_US2 }), 0);
    expect(sent).toEqual([
      {
        op: 2,
        sender: formatMac(US),
        senderIp: IP_US2,
        target: formatMac(C),
        targetIp: IP_C,
        to: formatMac(C),
      },
    ]);
    expect(cache.entry(IP_C)).toMatchObject({ state: "stale", mac: C });
    expect(cache.stats).toMatchObject({ requestsReceived: 1, repliesSent: 1 });
  });

  it("creates no entry for traffic between others, but updates an entry it has (the merge)", () => {
    const { cache, sent } = harness();
    cache.receive(arp({ op: ArpOp.Request, senderMac: C, senderIp: IP_C, targetIp: IP_D }), 0);
    expect(cache.entry(IP_C)).toBeUndefined();
    expect(cache.stats.notForUs).toBe(1);
    // Learn C, then hear C's gratuitous ARP with a new MAC: the entry follows.
    cache.receive(arp({ op: ArpOp.Request, senderMac: C, senderIp: IP_C, targetIp: IP_US }), 1);
    const moved = parseMac("02:00:00:00:00:33")!;
    cache.receive(arp({ op: ArpOp.Request, senderMac: moved, senderIp: IP_C, targetIp: IP_C }), 2);
    expect(formatMac(cache.entry(IP_C)!.mac)).toBe("02:00:00:00:00:33");
    expect(cache.stats.notForUs).toBe(1);
    expect(sent.length).toBe(1); // only the reply to C's request for us
  });

  it("does not confirm on replies meant for someone else", () => {
    const { cache } = harness();
    cache.receive(arp({ op: ArpOp.Request, senderMac: C, senderIp: IP_C, targetIp: IP_US }), 0);
    cache.receive(arp({ op: ArpOp.Reply, senderMac: C, senderIp: IP_C, targetMac: B, targetIp: IP_B }), 1);
    expect(cache.entry(IP_C)!.state).toBe("stale");
    cache.receive(arp({ op: ArpOp.Reply, senderMac: C, senderIp: IP_C, targetMac: US, targetIp: IP_US }), 2);
    expect(cache.entry(IP_C)!.state).toBe("reachable");
  });

  it("answers an RFC 5227 probe (sender 0.0.0.0) for our address without learning from it", () => {
    const { cache, sent } = harness();
    cache.receive(arp({ op: ArpOp.Request, senderMac: C, senderIp: 0, targetIp: IP_US }), 0);
    expect(sent).toEqual([
      { op: 2, sender: formatMac(US), senderIp: IP_US, target: formatMac(C), targetIp: 0, to: formatMac(C) },
    ]);
    expect(cache.size).toBe(0);
  });

  it("merges from an unknown operation code but does not answer it", () => {
    const { cache, sent } = harness();
    cache.receive(arp({ op: ArpOp.Request, senderMac: C, senderIp: IP_C, targetIp: IP_US }), 0);
    cache.receive(arp({ op: 9, senderMac: B, senderIp: IP_C, targetIp: IP_US }), 1);
    expect(formatMac(cache.entry(IP_C)!.mac)).toBe(formatMac(B));
    expect(sent.length).toBe(1);
    expect(cache.stats.unknownOp).toBe(1);
  });
});

describe("hostile and malformed input is counted, never thrown", () => {
  it("counts each kind of bad packet and changes nothing", () => {
    const { cache, sent } = harness();
    const bad: [Uint8Array, keyof NeighborCache<string>["stats"]][] = [
      [new Uint8Array(10), "malformed"],
      [Uint8Array.from(replyFromB()).fill(0, 0, 2), "malformed"], // hardware type 0
      [arp({ op: ArpOp.Request, senderMac: BROADCAST_MAC, senderIp: IP_C, targetIp: IP_US }), "invalid"],
      [
        arp({
          op: ArpOp.Request,
          senderMac: parseMac("01:00:5e:00:00:01")!,
          senderIp: IP_C,
          targetIp: IP_US,
        }),
        "invalid",
      ],
      [arp({ op: ArpOp.Request, senderMac: C, senderIp: 0xffffffff, targetIp: IP_US }), "invalid"],
      [arp({ op: ArpOp.Request, senderMac: C, senderIp: 0xe0000001, targetIp: IP_US }), "invalid"],
      [arp({ op: ArpOp.Request, senderMac: US, senderIp: IP_B, targetIp: IP_US }), "looped"],
      [arp({ op: ArpOp.Reply, senderMac: C, senderIp: IP_US, targetMac: US, targetIp: IP_US }), "conflicts"],
    ];
    for (const [bytes, counter] of bad) {
      const before = cache.stats[counter];
      cache.receive(bytes, 0);
      expect(cache.stats[counter], counter).toBe(before + 1);
    }
    expect(cache.stats.received).toBe(bad.length);
    expect(cache.size).toBe(0);
    expect(sent).toEqual([]);
  });

  it("keeps the table bounded, evicting settled entries first", () => {
    const { cache, unreachable } = harness({ maxEntries: 4 });
    cache.enqueue(0x0a0000f0, "waiting", 0);
    for (let i = 0; i < 10; i++)
      cache.receive(arp({ op: ArpOp.Request, senderMac: C, senderIp: 0x0a000100 + i, targetIp: IP_US }), i);
    expect(cache.size).toBe(4);
    expect(cache.stats.evictions).toBe(7);
    expect(cache.entry(0x0a0000f0)!.state).toBe("incomplete"); // our resolution survived
    expect(unreachable).toEqual([]);
    // A table full of resolutions gives up its oldest, reporting its packets.
    const h = harness({ maxEntries: 2 });
    h.cache.enqueue(1, "a", 0);
    h.cache.enqueue(2, "b", 0);
    h.cache.enqueue(3, "c", 0);
    expect(h.unreachable).toEqual([[1, ["a"]]]);
    expect(h.cache.size).toBe(2);
  });

  it("survives any sequence of arbitrary bytes, packets and lookups with its bounds intact", () => {
    const packet = fc.record({
      op: fc.integer({ min: 0, max: 3 }),
      senderMac: fc.constantFrom(B, C, US, BROADCAST_MAC, parseMac("02:00:00:00:00:44")!),
      senderIp: fc.constantFrom(0, IP_US, IP_B, IP_C, IP_D, 0xffffffff, 0x0a000010),
      targetMac: fc.constantFrom(ZERO_MAC, US, B),
      targetIp: fc.constantFrom(IP_US, IP_US2, IP_B, IP_D, 0),
    });
    const step = fc.oneof(
      packet.map((h) => ({ kind: "arp" as const, bytes: encodeArp(h) })),
      fc.uint8Array({ maxLength: 40 }).map((bytes) => ({ kind: "arp" as const, bytes })),
      fc.constantFrom(IP_B, IP_C, IP_D, 0x0a000010, 0x0a000011).map((ip) => ({ kind: "send" as const, ip })),
      fc.integer({ min: 0, max: 70_000 }).map((dt) => ({ kind: "wait" as const, dt })),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const h = harness({ maxEntries: 3, maxQueue: 2 });
        let now = 0;
        let n = 0;
        for (const s of steps) {
          if (s.kind === "arp") h.cache.receive(s.bytes, now);
          else if (s.kind === "wait") h.runUntil((now += s.dt));
          else if (!h.cache.lookup(s.ip, now)) h.cache.enqueue(s.ip, `p${n++}`, now);
          expect(h.cache.size).toBeLessThanOrEqual(3);
          for (const e of h.cache.list()) expect(e.queued).toBeLessThanOrEqual(2);
        }
        // Every queued packet is accounted for exactly once: resolved, reported unreachable, dropped, or waiting.
        const out =
          h.resolved.reduce((k, r) => k + r[2].length, 0) +
          h.unreachable.reduce((k, u) => k + u[1].length, 0) +
          h.cache.stats.queueDrops +
          h.cache.list().reduce((k, e) => k + e.queued, 0);
        expect(out).toBe(h.cache.stats.queued);
      }),
      { numRuns: 300 },
    );
  });
});
