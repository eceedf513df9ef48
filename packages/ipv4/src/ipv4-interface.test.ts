import { decodeEthernet } from "@userstack/ethernet";
import { decodePcap } from "@userstack/pcap";
import { readFixture } from "@userstack/testkit";
import { DecodeError, toHex } from "@userstack/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeIpv4,
  encodeIpv4,
  encodeIpv4Options,
  type Ipv4Header,
  Ipv4Interface,
  type Ipv4InterfaceConfig,
  type Ipv4View,
  internetChecksum,
  parseCidr,
  parseIpv4,
  parseIpv4Options,
} from "./index.js";

const ip = (s: string) => parseIpv4(s)!;
const US = ip("10.9.0.1");
const PEER = ip("10.9.0.2");

function harness(config: Partial<Ipv4InterfaceConfig> = {}) {
  const sent: { frame: Uint8Array; hop: number }[] = [];
  const delivered: { bytes: Uint8Array; broadcast: boolean }[] = [];
  const timeouts: Uint8Array[] = [];
  const iface = new Ipv4Interface(
    { address: parseCidr("10.9.0.1/24")!, identification: 0x6210, ...config },
    {
      transmit: (frame, hop) => sent.push({ frame: frame.slice(), hop }),
      deliver: (v, broadcast) => delivered.push({ bytes: v.bytes.slice(), broadcast }),
      reassemblyTimeout: (first) => timeouts.push(first.slice()),
    },
  );
  const datagrams = () => sent.map((s) => s.frame.subarray(iface.headroom));
  return { iface, sent, delivered, timeouts, datagrams };
}

function ok(r: Ipv4View | DecodeError): Ipv4View {
  if (r instanceof DecodeError) throw new Error(String(r));
  return r;
}

/** The IPv4 datagrams of a capture. */
function captured(name: string): Uint8Array[] {
  const f = decodePcap(readFixture(name));
  if (f instanceof DecodeError) throw new Error(String(f));
  return f.records.map((r) => (decodeEthernet(r.data) as { payload: Uint8Array }).payload);
}

describe("routing (RFC 1122 §3.3.1)", () => {
  const { iface } = harness({ gateway: ip("10.9.0.254") });
  it("sends on-link destinations directly and others to the gateway", () => {
    expect(iface.nextHop(PEER)).toBe(PEER);
    expect(iface.nextHop(ip("8.8.8.8"))).toBe(ip("10.9.0.254"));
    expect(iface.nextHop(ip("10.9.1.2"))).toBe(ip("10.9.0.254"));
  });
  it("hands broadcasts to the link as broadcasts", () => {
    expect(iface.nextHop(ip("255.255.255.255"))).toBe(0xffffffff);
    expect(iface.nextHop(ip("10.9.0.255"))).toBe(ip("10.9.0.255"));
    expect(iface.isBroadcast(ip("10.9.0.255"))).toBe(true);
    expect(iface.isBroadcast(ip("10.9.1.255"))).toBe(false);
  });
  it("has no route for what a host cannot send to, nor off-link without a gateway", () => {
    for (const a of ["0.0.0.0", "10.9.0.1", "224.0.0.1", "127.0.0.1"])
      expect(iface.nextHop(ip(a)), a).toBeUndefined();
    const { iface: alone } = harness();
    expect(alone.nextHop(ip("8.8.8.8"))).toBeUndefined();
    expect(alone.send(ip("8.8.8.8"), 17, new Uint8Array(8), 0)).toBe("no-route");
    expect(alone.stats.noRoute).toBe(1);
  });
  it("has no directed broadcast on a /31 (RFC 3021), and refuses an off-link gateway", () => {
    const { iface: p2p } = harness({ address: parseCidr("10.9.0.0/31")! });
    expect(p2p.isBroadcast(ip("10.9.0.1"))).toBe(false);
    expect(() => harness({ gateway: ip("10.8.0.1") })).toThrow(/on the link/);
  });
});

describe("sending", () => {
  it("writes the header after the headroom, numbering datagrams", () => {
    const { iface, sent } = harness({ headroom: 14, ttl: 32 });
    expect(iface.send(PEER, 6, Uint8Array.of(1, 2, 3), 0, { dontFragment: true, dscp: 10 })).toBe("sent");
    expect(iface.send(PEER, 17, Uint8Array.of(4), 0)).toBe("sent");
    expect(sent.map((s) => s.hop)).toEqual([PEER, PEER]);
    expect(toHex(sent[0]!.frame.subarray(0, 14))).toBe("00".repeat(14)); // the link header's room
    const [a, b] = sent.map((s) => ok(decodeIpv4(s.frame.subarray(14))));
    expect([
      a!.source,
      a!.destination,
      a!.protocol,
      a!.ttl,
      a!.dscp,
      a!.dontFragment,
      a!.identification,
    ]).toEqual([US, PEER, 6, 32, 10, true, 0x6210]);
    expect(toHex(a!.payload)).toBe("010203");
    expect(b!.identification).toBe(0x6211);
    expect(iface.stats.sent).toBe(2);
  });

  it("fragments a 3008-byte echo exactly as the Linux kernel did (icmp-fragments.pcap)", () => {
    const kernel = captured("icmp-fragments.pcap").slice(0, 3);
    // Rebuild the echo request the kernel fragmented, from its fragments.
    const echo = new Uint8Array(3008);
    for (const f of kernel) {
      const v = ok(decodeIpv4(f));
      echo.set(v.payload, v.fragmentOffset);
    }
    const { iface, datagrams, sent } = harness({ identification: 0x6210 });
    expect(iface.send(PEER, 1, echo, 0)).toBe("sent");
    expect(sent.length).toBe(3);
    expect(datagrams().map(toHex)).toEqual(kernel.map(toHex));
    expect(iface.stats).toMatchObject({ sent: 1, fragmentsSent: 3 });
  });

  it("puts options without the copied flag in the first fragment only (RFC 791 §3.2)", () => {
    const options = encodeIpv4Options([
      { type: 7, data: Uint8Array.of(4, 0, 0, 0, 0) }, // Record Route: not copied
      { type: 148, data: Uint8Array.of(0, 0) }, // Router Alert: copied
    ]);
    const { iface, datagrams } = harness({ mtu: 576 });
    iface.send(PEER, 17, new Uint8Array(1200).fill(7), 0, { options });
    const frags = datagrams().map((d) => ok(decodeIpv4(d)));
    expect(frags.map((f) => f.headerLength)).toEqual([32, 24, 24]);
    const types = frags.map((f) => (parseIpv4Options(f.options) as { type: number }[]).map((o) => o.type));
    expect(types).toEqual([[7, 148], [148], [148]]);
    // Data per fragment is a multiple of 8, and together they are the payload.
    expect(frags.map((f) => [f.fragmentOffset, f.payload.length, f.moreFragments])).toEqual([
      [0, 544, true],
      [544, 552, true],
      [1096, 104, false],
    ]);
    expect(frags.every((f) => f.totalLength <= 576)).toBe(true);
  });

  it("refuses what DF forbids to fragment, and what no datagram can hold", () => {
    const { iface, sent } = harness();
    expect(iface.send(PEER, 6, new Uint8Array(1481), 0, { dontFragment: true })).toBe("too-big");
    expect(iface.send(PEER, 6, new Uint8Array(1480), 0, { dontFragment: true })).toBe("sent");
    expect(iface.send(PEER, 17, new Uint8Array(65516), 0)).toBe("too-big");
    expect(iface.send(PEER, 17, new Uint8Array(65515), 0)).toBe("sent");
    expect(iface.stats.tooBig).toBe(2);
    expect(sent.length).toBe(1 + 45);
  });

  it("honours a learnt path MTU for DF datagrams until it ages out (RFC 1191)", () => {
    const { iface } = harness();
    expect(iface.pathMtus.update(PEER, 1400, 1000)).toBe(1400);
    expect(iface.pathMtus.update(PEER, 1450, 1000)).toBe(1400); // never raised by a message
    expect(iface.pathMtus.update(ip("10.9.0.3"), 20, 1000)).toBe(68); // never below 68
    expect(iface.pathMtu(PEER, 2000)).toBe(1400);
    expect(iface.send(PEER, 6, new Uint8Array(1400), 2000, { dontFragment: true })).toBe("too-big");
    expect(iface.send(PEER, 6, new Uint8Array(1380), 2000, { dontFragment: true })).toBe("sent");
    expect(iface.pathMtu(PEER, 1000 + 600_000)).toBe(1500);
  });
});

describe("receiving", () => {
  const build = (h: Partial<Ipv4Header>, payload = new Uint8Array(8)) =>
    encodeIpv4({ protocol: 17, source: PEER, destination: US, ...h }, payload);

  it("delivers datagrams for our address and broadcasts, with Ethernet padding removed", () => {
    const { iface, delivered } = harness();
    const d = build({}, Uint8Array.of(1, 2));
    const padded = new Uint8Array(46);
    padded.set(d);
    iface.receive(padded, 0);
    iface.receive(build({ destination: 0xffffffff }), 0);
    iface.receive(build({ destination: ip("10.9.0.255") }), 0);
    expect(delivered.map((x) => [x.bytes.length, x.broadcast])).toEqual([
      [22, false],
      [28, true],
      [28, true],
    ]);
    expect(iface.stats).toMatchObject({ received: 3, delivered: 3 });
  });

  it("delivers the kernel's own echo request from the capture", () => {
    const { iface, delivered } = harness({ address: parseCidr("10.9.0.2/24")! });
    iface.receive(captured("arp-ping.pcap")[2]!, 0);
    // The same frame decoded in place, from its Ethernet header on.
    const f = decodePcap(readFixture("arp-ping.pcap")) as { records: { data: Uint8Array }[] };
    iface.receive(f.records[2]!.data, 1, 14);
    expect(delivered.length).toBe(2);
    expect(delivered[0]!.bytes.length).toBe(84);
    expect(toHex(delivered[1]!.bytes)).toBe(toHex(delivered[0]!.bytes));
  });

  it("counts and drops every kind of unwanted datagram", () => {
    const { iface, delivered } = harness();
    const bad = (b: Uint8Array, at: number, v: number) => {
      const c = b.slice();
      c[at] = v;
      return c;
    };
    const cases: [Uint8Array, keyof Ipv4Interface["stats"]][] = [
      [new Uint8Array(12), "truncated"],
      [build({}).subarray(0, 27), "truncated"],
      [bad(build({}), 0, 0x65), "badVersion"],
      [bad(build({}), 0, 0x44), "badLength"],
      [bad(build({}), 8, 1), "badChecksum"],
      [build({ destination: ip("10.9.0.7") }), "foreign"],
      [build({ destination: ip("224.0.0.1") }), "foreign"],
      [build({ source: 0 }), "badSource"],
      [build({ source: US }), "badSource"],
      [build({ source: 0xffffffff }), "badSource"],
      [build({ source: ip("10.9.0.255") }), "badSource"],
      [build({ source: ip("224.0.0.5") }), "badSource"],
      [build({ source: ip("240.0.0.1") }), "badSource"],
      [build({ source: ip("127.0.0.1") }), "badSource"],
      [build({ options: Uint8Array.of(7, 9, 4, 0) }), "badOptions"],
      [build({ options: Uint8Array.of(131, 7, 4, 10, 9, 0, 3) }), "sourceRouted"],
    ];
    for (const [bytes, counter] of cases) {
      const before = iface.stats[counter];
      iface.receive(bytes, 0);
      expect(iface.stats[counter], counter).toBe(before + 1);
    }
    expect(delivered).toEqual([]);
    expect(iface.stats.received).toBe(cases.length);
  });

  it("accepts source-routed datagrams when configured to", () => {
    const { iface, delivered } = harness({ acceptSourceRoute: true });
    iface.receive(build({ options: Uint8Array.of(131, 7, 8, 10, 9, 0, 3) }), 0);
    expect(delivered.length).toBe(1);
  });
});

describe("reassembly (RFC 791 §3.2, RFC 1122 §3.3.2)", () => {
  /** Fragments of a datagram with `n` payload bytes, built by our own sender at `mtu`. */
  function fragmentsOf(n: number, mtu = 1500, id = 0x1234): Uint8Array[] {
    const { iface, datagrams } = harness({ address: parseCidr("10.9.0.2/24")!, mtu, identification: id });
    iface.send(
      US,
      17,
      Uint8Array.from({ length: n }, (_, i) => (i * 13) & 0xff),
      0,
    );
    return datagrams().map((d) => d.slice());
  }

  it("reassembles the kernel's fragments into the echo whose checksum verifies", () => {
    const { iface, delivered } = harness({ address: parseCidr("10.9.0.2/24")! });
    for (const f of captured("icmp-fragments.pcap").slice(0, 3)) iface.receive(f, 0);
    expect(delivered.length).toBe(1);
    const whole = ok(decodeIpv4(delivered[0]!.bytes));
    expect([whole.totalLength, whole.moreFragments, whole.fragmentOffset, whole.identification]).toEqual([
      3028,
      false,
      0,
      0x6210,
    ]);
    expect(internetChecksum(whole.payload)).toBe(0); // the ICMP checksum covers all 3008 bytes
    expect(iface.reassembly.stats).toMatchObject({ fragments: 3, reassembled: 1 });
    expect(iface.reassembly.size).toBe(0);
    expect(iface.reassembly.memory).toBe(0);
    expect(iface.deadline()).toBeUndefined();
  });

  it("reassembles in any order with duplicates, identical to the original", () => {
    const original = Uint8Array.from({ length: 4000 }, (_, i) => (i * 13) & 0xff);
    const frags = fragmentsOf(4000, 576);
    fc.assert(
      fc.property(
        fc.shuffledSubarray([...frags.keys(), ...frags.keys()], {
          minLength: 2 * frags.length,
          maxLength: 2 * frags.length,
        }),
        (order) => {
          const { iface, delivered } = harness();
          for (const i of order) iface.receive(frags[i]!, 0);
          // The datagram completes when every fragment has arrived once; copies before that are
          // ignored duplicates, copies after it start a new datagram (complete if all are there).
          const seen = new Set<number>();
          let done = 0;
          while (seen.size < frags.length) seen.add(order[done++]!);
          const after = new Set(order.slice(done));
          expect(delivered.length).toBe(after.size === frags.length ? 2 : 1);
          for (const d of delivered) expect(toHex(ok(decodeIpv4(d.bytes)).payload)).toBe(toHex(original));
          expect(iface.reassembly.stats.duplicates).toBe(done - frags.length);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("drops the whole datagram when fragments overlap (RFC 5722 policy)", () => {
    const frags = fragmentsOf(3000);
    const { iface, delivered } = harness();
    iface.receive(frags[0]!, 0);
    // A forged fragment covering bytes 1000..1488 with different data.
    const forged = encodeIpv4(
      {
        protocol: 17,
        source: ip("10.9.0.2"),
        destination: US,
        identification: 0x1234,
        moreFragments: true,
        fragmentOffset: 1000,
      },
      new Uint8Array(488).fill(0xee),
    );
    iface.receive(forged, 0);
    for (const f of frags.slice(1)) iface.receive(f, 0);
    expect(delivered).toEqual([]);
    expect(iface.reassembly.stats.overlaps).toBe(1);
  });

  it("times out after 30 s and reports the first fragment for ICMP time exceeded", () => {
    const frags = fragmentsOf(3000);
    const { iface, timeouts, delivered } = harness();
    iface.receive(frags[0]!, 1000);
    iface.receive(frags[2]!, 5000);
    expect(iface.deadline()).toBe(31_000);
    iface.poll(30_999);
    expect(iface.reassembly.size).toBe(1);
    iface.poll(31_000);
    expect(iface.reassembly.size).toBe(0);
    expect(iface.reassembly.stats.timeouts).toBe(1);
    expect(timeouts.length).toBe(1);
    expect(toHex(timeouts[0]!)).toBe(toHex(frags[0]!)); // header + first fragment's data
    iface.receive(frags[1]!, 31_001); // too late: a new, incomplete datagram
    expect(delivered).toEqual([]);
    // Without fragment zero nothing is reported.
    iface.poll(61_001);
    expect(timeouts.length).toBe(1);
    expect(iface.reassembly.stats.timeouts).toBe(2);
  });

  it("refuses datagrams over 65535 bytes, malformed fragments, and inconsistent ends", () => {
    const { iface } = harness();
    const frag = (h: Partial<Ipv4Header>, n: number) =>
      encodeIpv4({ protocol: 17, source: PEER, destination: US, identification: 9, ...h }, new Uint8Array(n));
    iface.receive(frag({ fragmentOffset: 65528 }, 16), 0); // "ping of death"
    iface.receive(frag({ moreFragments: true }, 10), 0); // not a multiple of 8
    iface.receive(frag({ identification: 10, fragmentOffset: 8 }, 8), 0); // ends at 16
    iface.receive(frag({ identification: 10, fragmentOffset: 16 }, 8), 0); // ends at 24: disagrees
    iface.receive(frag({ identification: 11, moreFragments: true, fragmentOffset: 64 }, 8), 0);
    iface.receive(frag({ identification: 11, fragmentOffset: 16 }, 8), 0); // the end before data already seen
    expect(iface.reassembly.stats).toMatchObject({ oversize: 1, badFragments: 1, inconsistent: 2 });
    expect(iface.reassembly.size).toBe(0);
  });

  it("keeps memory bounded under a flood of incomplete datagrams, evicting the oldest", () => {
    const { iface } = harness({ reassembly: { maxBytes: 64 * 1024 } });
    for (let id = 0; id < 500; id++)
      iface.receive(
        encodeIpv4(
          {
            protocol: 17,
            source: PEER,
            destination: US,
            identification: id,
            moreFragments: true,
            fragmentOffset: 8 * (id % 100),
          },
          new Uint8Array(64),
        ),
        id,
      );
    expect(iface.reassembly.memory).toBeLessThanOrEqual(64 * 1024);
    expect(iface.reassembly.stats.evicted).toBeGreaterThan(450);
    expect(iface.reassembly.size).toBe(500 - iface.reassembly.stats.evicted);
    // The survivors are the newest: the deadline is the oldest survivor's.
    expect(iface.deadline()).toBe(iface.reassembly.stats.evicted + 30_000);
  });

  it("bounds the fragments per datagram", () => {
    const { iface } = harness({ reassembly: { maxFragments: 4 } });
    for (let i = 0; i < 6; i++)
      iface.receive(
        encodeIpv4(
          {
            protocol: 17,
            source: PEER,
            destination: US,
            identification: 1,
            moreFragments: true,
            fragmentOffset: 16 * i,
          },
          new Uint8Array(8),
        ),
        0,
      );
    expect(iface.reassembly.stats.tooManyFragments).toBe(1);
    expect(iface.reassembly.size).toBe(1); // the fifth dropped it, the sixth started afresh
  });

  it("never throws and stays bounded whatever fragments arrive", () => {
    const frag = fc.record({
      identification: fc.integer({ min: 0, max: 3 }),
      moreFragments: fc.boolean(),
      fragmentOffset: fc.integer({ min: 0, max: 8191 }).map((o) => o * 8),
      n: fc.integer({ min: 0, max: 1480 }),
      dt: fc.integer({ min: 0, max: 20_000 }),
    });
    fc.assert(
      fc.property(fc.array(frag, { maxLength: 40 }), (list) => {
        const { iface, delivered } = harness({ reassembly: { maxBytes: 200_000 } });
        let now = 0;
        for (const f of list) {
          now += f.dt;
          iface.poll(now);
          const n = Math.min(f.n, 65515 - f.fragmentOffset);
          if (n < 0) continue;
          iface.receive(
            encodeIpv4({ protocol: 17, source: PEER, destination: US, ...f }, new Uint8Array(Math.max(0, n))),
            now,
          );
          expect(iface.reassembly.memory).toBeLessThanOrEqual(200_000);
        }
        for (const d of delivered) expect(decodeIpv4(d.bytes)).not.toBeInstanceOf(DecodeError);
      }),
      { numRuns: 300 },
    );
  });
});
