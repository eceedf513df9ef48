import { decodeEthernet } from "@userstack/ethernet";
import {
  decodeIpv4,
  encodeIpv4,
  formatIpv4,
  type Ipv4Header,
  Ipv4Interface,
  type Ipv4View,
  parseCidr,
  parseIpv4,
} from "@userstack/ipv4";
import { decodePcap } from "@userstack/pcap";
import { readFixture } from "@userstack/testkit";
import { DecodeError, toHex } from "@userstack/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeIcmp,
  encodeIcmp,
  type IcmpConfig,
  IcmpEngine,
  type IcmpErrorReport,
  type PingReply,
  type PingTimeout,
  UnreachableCode,
} from "./index.js";

const ip = (s: string) => parseIpv4(s)!;
const A = ip("10.9.0.1");
const B = ip("10.9.0.2");

function ok(r: Ipv4View | DecodeError): Ipv4View {
  if (r instanceof DecodeError) throw new Error(String(r));
  return r;
}

/** The IPv4 datagrams of a capture. */
function captured(name: string): Ipv4View[] {
  const f = decodePcap(readFixture(name));
  if (f instanceof DecodeError) throw new Error(String(f));
  const out: Ipv4View[] = [];
  for (const r of f.records) {
    const eth = decodeEthernet(r.data);
    if (!(eth instanceof DecodeError) && eth.etherType === 0x0800) out.push(ok(decodeIpv4(eth.payload)));
  }
  return out;
}

function harness(config: Partial<IcmpConfig> = {}) {
  const sent: { to: number; message: Uint8Array }[] = [];
  const errors: IcmpErrorReport[] = [];
  const replies: PingReply[] = [];
  const timeouts: PingTimeout[] = [];
  const engine = new IcmpEngine(
    { address: B, isBroadcast: (a) => a === ip("10.9.0.255"), pingIdentifier: 0x4242, ...config },
    {
      send: (to, message) => sent.push({ to, message: message.slice() }),
      error: (r) => errors.push({ ...r, quote: r.quote.slice() }),
      pingReply: (r) => replies.push(r),
      pingTimeout: (t) => timeouts.push(t),
    },
  );
  return { engine, sent, errors, replies, timeouts };
}

/** A datagram as the IPv4 layer would deliver it. */
const datagram = (h: Partial<Ipv4Header>, payload: Uint8Array) =>
  ok(decodeIpv4(encodeIpv4({ protocol: 17, source: A, destination: B, ...h }, payload)));

describe("echo responder (RFC 792)", () => {
  it("answers the kernel's echo request with the kernel's own reply, byte for byte", () => {
    const [request, reply] = captured("arp-ping.pcap");
    const { engine, sent } = harness();
    engine.receive(request!, false, 0);
    expect(sent.length).toBe(1);
    expect(formatIpv4(sent[0]!.to)).toBe("10.9.0.1");
    expect(toHex(sent[0]!.message)).toBe(toHex(reply!.payload));
    expect(engine.stats).toMatchObject({ received: 1, echoRequests: 1, echoReplies: 1 });
  });

  it("answers a 3008-byte request reassembled from the kernel's fragments like the kernel did", () => {
    const frags = captured("icmp-fragments.pcap");
    const whole: Ipv4View[] = [];
    const iface = new Ipv4Interface(
      { address: parseCidr("10.9.0.2/24")! },
      { transmit: () => {}, deliver: (v) => whole.push(v) },
    );
    for (const f of frags.slice(0, 3)) iface.receive(f.bytes, 0);
    const kernelReply = new Uint8Array(3008);
    for (const f of frags.slice(3)) kernelReply.set(f.payload, f.fragmentOffset);
    const { engine, sent } = harness();
    engine.receive(whole[0]!, false, 0);
    expect(sent[0]!.message.length).toBe(3008);
    expect(toHex(sent[0]!.message)).toBe(toHex(kernelReply));
  });

  it("ignores echo requests to a broadcast address unless told otherwise (RFC 1122 §3.2.2.6)", () => {
    const req = datagram(
      { protocol: 1, destination: 0xffffffff },
      encodeIcmp({ type: 8, identifier: 1, sequence: 1 }, new Uint8Array(4)),
    );
    const quiet = harness();
    quiet.engine.receive(req, true, 0);
    expect(quiet.sent).toEqual([]);
    expect(quiet.engine.stats.echoBroadcastIgnored).toBe(1);
    const loud = harness({ answerBroadcastEcho: true });
    loud.engine.receive(req, true, 0);
    expect(loud.sent.length).toBe(1);
    expect(decodeIcmp(loud.sent[0]!.message)).toMatchObject({ type: 0 });
  });
});

describe("ping client", () => {
  /** Delivers `message` from `from` to `to` as a datagram (TTL 63, as if one hop away). */
  const deliver = (engine: IcmpEngine, from: number, to: number, message: Uint8Array, now: number) =>
    engine.receive(datagram({ protocol: 1, source: from, destination: to, ttl: 63 }, message), false, now);

  it("measures the RTT from the now values between two engines", () => {
    const a = harness({ address: A });
    const b = harness({ address: B });
    expect(a.engine.ping(B, 1000, 56, 1000)).toBe(0);
    expect(a.engine.ping(B, 1500, 9, 1000)).toBe(1);
    const [r0, r1] = a.sent;
    const req = decodeIcmp(r0!.message) as {
      type: number;
      identifier: number;
      sequence: number;
      data: Uint8Array;
    };
    expect([req.type, req.identifier, req.sequence, req.data.length]).toEqual([8, 0x4242, 0, 56]);
    deliver(b.engine, A, B, r1!.message, 1501);
    deliver(b.engine, A, B, r0!.message, 1502);
    deliver(a.engine, B, A, b.sent[0]!.message, 1520);
    deliver(a.engine, B, A, b.sent[1]!.message, 1525.5);
    expect(a.replies).toEqual([
      { destination: B, identifier: 0x4242, sequence: 1, rttMs: 20, ttl: 63, bytes: 9 },
      { destination: B, identifier: 0x4242, sequence: 0, rttMs: 525.5, ttl: 63, bytes: 56 },
    ]);
    expect(a.engine.deadline()).toBeUndefined();
    expect(a.engine.stats).toMatchObject({ pingsSent: 2, pingReplies: 2 });
  });

  it("times out unanswered pings, then ignores the late reply", () => {
    const a = harness({ address: A });
    const b = harness({ address: B });
    a.engine.ping(B, 0, 56, 1000);
    expect(a.engine.deadline()).toBe(1000);
    a.engine.poll(999);
    expect(a.timeouts).toEqual([]);
    a.engine.poll(1000);
    expect(a.timeouts).toEqual([{ destination: B, identifier: 0x4242, sequence: 0 }]);
    deliver(b.engine, A, B, a.sent[0]!.message, 1001);
    deliver(a.engine, B, A, b.sent[0]!.message, 1002);
    expect(a.replies).toEqual([]);
    expect(a.engine.stats).toMatchObject({ pingTimeouts: 1, pingUnmatched: 1 });
  });

  it("refuses replies from another host, for another identifier, or with altered data", () => {
    const a = harness({ address: A });
    a.engine.ping(B, 0);
    const req = decodeIcmp(a.sent[0]!.message) as { data: Uint8Array };
    const reply = (id: number, data: Uint8Array) =>
      encodeIcmp({ type: 0, identifier: id, sequence: 0 }, data);
    deliver(a.engine, ip("10.9.0.3"), A, reply(0x4242, req.data), 1);
    deliver(a.engine, B, A, reply(0x4243, req.data), 1);
    const altered = req.data.slice();
    altered[10]! ^= 1;
    deliver(a.engine, B, A, reply(0x4242, altered), 1);
    deliver(a.engine, B, A, reply(0x4242, req.data.subarray(0, 10)), 1);
    expect(a.replies).toEqual([]);
    expect(a.engine.stats).toMatchObject({ pingUnmatched: 2, pingCorrupt: 2 });
    deliver(a.engine, B, A, reply(0x4242, req.data), 2);
    expect(a.replies.length).toBe(1);
  });

  it("bounds outstanding pings and wraps sequence numbers", () => {
    const a = harness({ address: A, maxPings: 2 });
    expect([a.engine.ping(B, 0), a.engine.ping(B, 0), a.engine.ping(B, 0)]).toEqual([0, 1, -1]);
    a.engine.poll(10_000);
    for (let i = 2; i < 65536; i++) {
      a.engine.ping(B, 0);
      a.engine.poll(10_000);
    }
    expect(a.engine.ping(B, 20_000)).toBe(0);
  });
});

describe("destination unreachable (RFC 1122 §3.2.2)", () => {
  it("answers the kernel's UDP datagram to a closed port exactly as the kernel did", () => {
    const [err] = captured("icmp-unreachable.pcap");
    const kernel = decodeIcmp(err!.payload) as { data: Uint8Array };
    const original = ok(decodeIpv4(kernel.data)); // the kernel quoted the whole 31-byte datagram
    const { engine, sent } = harness();
    expect(engine.destinationUnreachable(original, UnreachableCode.Port, false, 0)).toBe("sent");
    expect(formatIpv4(sent[0]!.to)).toBe("10.9.0.1");
    expect(toHex(sent[0]!.message)).toBe(toHex(err!.payload));
    expect(engine.stats.unreachableSent).toBe(1);
  });

  it("quotes at most 548 bytes, keeping the error within 576 (RFC 1812 §4.3.2.3)", () => {
    const { engine, sent } = harness();
    const big = datagram({ protocol: 99 }, new Uint8Array(1400).fill(3));
    engine.destinationUnreachable(big, UnreachableCode.Protocol, false, 0);
    const m = decodeIcmp(sent[0]!.message) as { code: number; data: Uint8Array };
    expect(sent[0]!.message.length).toBe(556);
    expect(m.code).toBe(2);
    expect(toHex(m.data)).toBe(toHex(big.bytes.subarray(0, 548)));
  });

  it("never answers what RFC 1122 §3.2.2 forbids", () => {
    const { engine, sent } = harness();
    const icmpError = encodeIcmp({ type: 3, code: 3 }, new Uint8Array(28));
    const echo = encodeIcmp({ type: 8 }, new Uint8Array(4));
    const cases: [Ipv4View, boolean, string][] = [
      [datagram({ protocol: 1 }, icmpError), false, "icmp-error"],
      [datagram({ protocol: 1 }, encodeIcmp({ type: 11 }, new Uint8Array(28))), false, "icmp-error"],
      [datagram({}, new Uint8Array(8)), true, "broadcast"],
      [datagram({ destination: 0xffffffff }, new Uint8Array(8)), false, "broadcast"],
      [datagram({ destination: ip("10.9.0.255") }, new Uint8Array(8)), false, "broadcast"],
      [datagram({ destination: ip("224.0.0.251") }, new Uint8Array(8)), false, "broadcast"],
      [datagram({ fragmentOffset: 1480 }, new Uint8Array(8)), false, "fragment"],
      [datagram({ source: 0 }, new Uint8Array(8)), false, "bad-source"],
      [datagram({ source: ip("127.0.0.1") }, new Uint8Array(8)), false, "bad-source"],
      [datagram({ source: 0xffffffff }, new Uint8Array(8)), false, "bad-source"],
      [datagram({ source: ip("10.9.0.255") }, new Uint8Array(8)), false, "bad-source"],
      [datagram({ source: ip("239.1.1.1") }, new Uint8Array(8)), false, "bad-source"],
      [datagram({ source: ip("240.0.0.1") }, new Uint8Array(8)), false, "bad-source"],
    ];
    for (const [d, bcast, why] of cases) expect(engine.destinationUnreachable(d, 3, bcast, 0)).toBe(why);
    expect(sent).toEqual([]);
    expect(engine.stats).toMatchObject({
      suppressedIcmpError: 2,
      suppressedBroadcast: 4,
      suppressedFragment: 1,
      suppressedSource: 6,
    });
    // An ICMP query (not an error) may be answered, and a first fragment too.
    expect(engine.destinationUnreachable(datagram({ protocol: 1 }, echo), 2, false, 0)).toBe("sent");
    expect(
      engine.destinationUnreachable(datagram({ moreFragments: true }, new Uint8Array(8)), 3, false, 0),
    ).toBe("sent");
  });

  it("rate-limits errors with a token bucket driven by now (RFC 1812 §4.3.2.8)", () => {
    const { engine, sent } = harness({ errorRate: 10, errorBurst: 3 });
    const d = datagram({}, new Uint8Array(8));
    const at = (now: number) => engine.destinationUnreachable(d, 3, false, now);
    expect([at(0), at(0), at(0), at(0)]).toEqual(["sent", "sent", "sent", "rate-limited"]);
    expect(at(50)).toBe("rate-limited"); // half a token
    expect(at(100)).toBe("sent");
    expect(at(100)).toBe("rate-limited");
    expect([at(10_000), at(10_000), at(10_000), at(10_000)]).toEqual([
      "sent",
      "sent",
      "sent",
      "rate-limited",
    ]);
    expect(sent.length).toBe(7);
    expect(engine.stats.rateLimited).toBe(4);
  });

  it("sends time exceeded (reassembly) for a timed-out datagram's first fragment", () => {
    const firsts: Uint8Array[] = [];
    const iface = new Ipv4Interface(
      { address: parseCidr("10.9.0.2/24")! },
      { transmit: () => {}, deliver: () => {}, reassemblyTimeout: (f) => firsts.push(f.slice()) },
    );
    const frag = encodeIpv4(
      { protocol: 17, source: A, destination: B, identification: 7, moreFragments: true },
      new Uint8Array(1000).fill(9),
    );
    iface.receive(frag, 0);
    iface.poll(30_000);
    const { engine, sent } = harness();
    expect(engine.reassemblyTimeExceeded(firsts[0]!, 30_000)).toBe("sent");
    const m = decodeIcmp(sent[0]!.message) as { type: number; code: number; data: Uint8Array };
    expect([m.type, m.code, sent[0]!.to]).toEqual([11, 1, A]);
    expect(toHex(m.data)).toBe(toHex(frag.subarray(0, 548)));
    expect(engine.reassemblyTimeExceeded(new Uint8Array(10), 30_000)).toBe("malformed");
  });
});

describe("received errors, for the transport", () => {
  const tcpQuote = (seq: number, totalLength = 1500) => {
    const h = encodeIpv4(
      { protocol: 6, source: B, destination: A, identification: 1, dontFragment: true },
      new Uint8Array(totalLength - 20),
    );
    const q = h.slice(0, 28);
    q.set([0xc3, 0x50, 0x00, 0x50, seq >>> 24, (seq >>> 16) & 255, (seq >>> 8) & 255, seq & 255], 20);
    return q;
  };
  const fromRouter = (message: Uint8Array) =>
    datagram({ protocol: 1, source: ip("10.9.0.254"), destination: B }, message);

  it("turns the kernel's port unreachable into ECONNREFUSED for the UDP socket that sent it", () => {
    const [err] = captured("icmp-unreachable.pcap");
    const { engine, errors } = harness({ address: A });
    engine.receive(err!, false, 0);
    expect(errors).toEqual([
      expect.objectContaining({
        type: 3,
        code: 3,
        errno: "ECONNREFUSED",
        hard: true,
        mtu: 0,
        reporter: B,
        protocol: 17,
        source: A,
        destination: B,
        sourcePort: 56960,
        destinationPort: 9,
        tcpSequence: 0,
      }),
    ]);
    expect(errors[0]!.quote.length).toBe(31);
  });

  it("reports fragmentation needed with the new path MTU and the TCP sequence number", () => {
    const { engine, errors } = harness();
    engine.receive(
      fromRouter(encodeIcmp({ type: 3, code: 4, nextHopMtu: 1400 }, tcpQuote(0xdeadbeef))),
      false,
      0,
    );
    expect(errors[0]).toMatchObject({
      errno: "EMSGSIZE",
      hard: false,
      mtu: 1400,
      protocol: 6,
      source: B,
      destination: A,
      sourcePort: 50000,
      destinationPort: 80,
      tcpSequence: 0xdeadbeef,
      reporter: ip("10.9.0.254"),
    });
    // A pre-RFC 1191 router says 0: the plateau below the quoted length (1500) is 1492.
    engine.receive(fromRouter(encodeIcmp({ type: 3, code: 4 }, tcpQuote(1, 1500))), false, 0);
    expect(errors[1]!.mtu).toBe(1492);
    engine.receive(fromRouter(encodeIcmp({ type: 3, code: 4 }, tcpQuote(1, 576))), false, 0);
    expect(errors[2]!.mtu).toBe(508);
  });

  it("maps every error to Node's codes and RFC 1122 §4.2.3.9 hardness", () => {
    const { engine, errors } = harness();
    const cases: [number, number, string, boolean][] = [
      [3, 0, "EHOSTUNREACH", false],
      [3, 1, "EHOSTUNREACH", false],
      [3, 2, "ENOPROTOOPT", true],
      [3, 3, "ECONNREFUSED", true],
      [3, 5, "EHOSTUNREACH", false],
      [3, 6, "EHOSTUNREACH", true],
      [3, 10, "EHOSTUNREACH", true],
      [3, 13, "EHOSTUNREACH", true],
      [11, 0, "EHOSTUNREACH", false],
      [11, 1, "EHOSTUNREACH", false],
      [12, 0, "EPROTO", true],
    ];
    for (const [type, code] of cases)
      engine.receive(fromRouter(encodeIcmp({ type, code }, tcpQuote(7))), false, 0);
    expect(errors.map((e) => [e.type, e.code, e.errno, e.hard])).toEqual(cases);
    expect(engine.stats).toMatchObject({ errorsReceived: cases.length, errorsDelivered: cases.length });
  });

  it("counts and drops what it cannot use", () => {
    const { engine, errors, sent } = harness();
    const foreign = tcpQuote(1);
    foreign.set([10, 9, 0, 77], 12); // quoted source is not us
    engine.receive(fromRouter(encodeIcmp({ type: 3, code: 1 }, foreign)), false, 0);
    engine.receive(fromRouter(encodeIcmp({ type: 3, code: 1 }, tcpQuote(1).subarray(0, 24))), false, 0);
    engine.receive(fromRouter(encodeIcmp({ type: 4 }, tcpQuote(1))), false, 0);
    engine.receive(
      fromRouter(encodeIcmp({ type: 5, code: 1, rest: ip("10.9.0.253") }, tcpQuote(1))),
      false,
      0,
    );
    engine.receive(fromRouter(encodeIcmp({ type: 13 }, new Uint8Array(12))), false, 0);
    const corrupt = encodeIcmp({ type: 8 }, new Uint8Array(4));
    corrupt[5]! ^= 1;
    engine.receive(fromRouter(corrupt), false, 0);
    engine.receive(fromRouter(new Uint8Array(3)), false, 0);
    expect(errors).toEqual([]);
    expect(sent).toEqual([]);
    expect(engine.stats).toMatchObject({
      received: 7,
      foreignQuote: 1,
      badQuote: 1,
      sourceQuench: 1,
      ignored: 2,
      malformed: 2,
    });
  });

  it("never throws on arbitrary ICMP payloads, and accounts for each message once", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 80 }), fc.boolean(), fc.boolean())),
        (list) => {
          const { engine } = harness({ address: A });
          for (const [bytes, fix, bcast] of list) {
            // Give half of them a valid checksum so they get past decoding.
            const msg =
              fix && bytes.length >= 8
                ? encodeIcmp({ type: bytes[0]! % 20, code: bytes[1]!, rest: 0 }, bytes.subarray(8))
                : bytes;
            engine.receive(datagram({ protocol: 1, source: B, destination: A }, msg), bcast, 0);
          }
          const s = engine.stats;
          expect(
            s.malformed +
              s.echoRequests +
              s.pingReplies +
              s.pingUnmatched +
              s.pingCorrupt +
              s.errorsReceived +
              s.sourceQuench +
              s.ignored,
          ).toBe(s.received);
          expect(s.errorsReceived).toBe(s.errorsDelivered + s.badQuote + s.foreignQuote);
        },
      ),
    );
  });
});
