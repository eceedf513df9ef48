import { decodeEthernet } from "@userstack/ethernet";
import { decodeIpv4, formatIpv4, IpProtocol, type Ipv4View } from "@userstack/ipv4";
import { decodePcap } from "@userstack/pcap";
import { readFixture } from "@userstack/testkit";
import { DecodeError, fromHex, toHex } from "@userstack/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeIcmp,
  decodeIcmpQuote,
  encodeIcmp,
  IcmpType,
  type IcmpView,
  isIcmpError,
  TimeExceededCode,
  UnreachableCode,
  writeIcmpHeader,
} from "./index.js";

/** The IPv4 datagrams of a capture. */
function datagrams(name: string): Ipv4View[] {
  const file = decodePcap(readFixture(name));
  if (file instanceof DecodeError) throw new Error(String(file));
  const out: Ipv4View[] = [];
  for (const r of file.records) {
    const eth = decodeEthernet(r.data);
    if (eth instanceof DecodeError) throw new Error(String(eth));
    if (eth.etherType !== 0x0800) continue;
    out.push(ok(decodeIpv4(eth.payload)));
  }
  return out;
}

function ok<T>(r: T | DecodeError): T {
  if (r instanceof DecodeError) throw new Error(String(r));
  return r;
}

/** The textbook RFC 1071 checksum, as a reference independent of the code under test. */
function referenceChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Re-encodes `icmp` from its generic header and data into a dirty buffer at an offset. */
function reencode(icmp: IcmpView): string {
  const out = new Uint8Array(icmp.bytes.length + 5).fill(0xa5);
  const m = encodeIcmp(icmp.toHeader(), icmp.data, out, 2);
  expect(toHex(out.subarray(0, 2))).toBe("a5a5");
  expect(toHex(out.subarray(2 + icmp.bytes.length))).toBe("a5a5a5");
  return toHex(m);
}

describe("echo request and reply from the Linux kernel (arp-ping.pcap)", () => {
  const [request, reply, request2] = datagrams("arp-ping.pcap");

  it("reads identifier, sequence, checksum and data", () => {
    const req = ok(decodeIcmp(request!.payload));
    expect(req.type).toBe(IcmpType.EchoRequest);
    expect(req.code).toBe(0);
    expect(req.checksum).toBe(0x0e85);
    expect(req.identifier).toBe(0x18e4);
    expect(req.sequence).toBe(1);
    expect(req.isError).toBe(false);
    expect(req.nextHopMtu).toBe(0);
    expect(req.data.length).toBe(56);
    // ping's payload: an 8-byte timestamp, then bytes 0x10, 0x11, …
    expect(toHex(req.data.subarray(16, 20))).toBe("10111213");
    expect(ok(decodeIcmp(request2!.payload)).sequence).toBe(2);

    const rep = ok(decodeIcmp(reply!.payload));
    expect(rep.type).toBe(IcmpType.EchoReply);
    expect(rep.checksum).toBe(0x1685);
    expect([rep.identifier, rep.sequence]).toEqual([0x18e4, 1]);
    expect(toHex(rep.data)).toBe(toHex(req.data));
  });

  it("re-encodes both byte for byte, from the generic header and from the echo fields", () => {
    for (const ip of [request!, reply!]) {
      const icmp = ok(decodeIcmp(ip.payload));
      expect(reencode(icmp)).toBe(toHex(ip.payload));
      const named = encodeIcmp(
        { type: icmp.type, identifier: icmp.identifier, sequence: icmp.sequence },
        icmp.data,
      );
      expect(toHex(named)).toBe(toHex(ip.payload));
    }
  });

  it("builds the kernel's reply from its request in place", () => {
    const req = ok(decodeIcmp(request!.payload));
    const out = new Uint8Array(64);
    out.set(req.data, 8); // the data first, then the header and checksum over both
    writeIcmpHeader({ type: IcmpType.EchoReply, rest: req.rest }, out, 0, req.data.length);
    expect(toHex(out)).toBe(toHex(reply!.payload));
  });
});

describe("a 3008-byte echo reassembled from real fragments (icmp-fragments.pcap)", () => {
  /** Concatenates the fragments of one datagram by offset (the reassembly engine is tested elsewhere). */
  function reassemble(frags: Ipv4View[]): Uint8Array {
    const last = frags.find((f) => !f.moreFragments)!;
    const out = new Uint8Array(last.fragmentOffset + last.payload.length);
    for (const f of frags) out.set(f.payload, f.fragmentOffset);
    return out;
  }
  const all = datagrams("icmp-fragments.pcap");

  it("verifies the checksum over the whole message and reads it", () => {
    const req = ok(decodeIcmp(reassemble(all.slice(0, 3))));
    expect(req.bytes.length).toBe(3008);
    expect([req.type, req.identifier, req.sequence, req.checksum]).toEqual([8, 0x18e8, 1, 0xff11]);
    const rep = ok(decodeIcmp(reassemble(all.slice(3))));
    expect([rep.type, rep.identifier, rep.sequence, rep.checksum]).toEqual([0, 0x18e8, 1, 0x0712]);
    expect(reencode(rep)).toBe(toHex(rep.bytes));
  });

  it("refuses the first fragment alone: the checksum covers the whole message", () => {
    const e = decodeIcmp(all[0]!.payload);
    expect((e as DecodeError).reason).toBe("bad-checksum");
  });
});

describe("port unreachable quoting a UDP datagram (icmp-unreachable.pcap)", () => {
  const [ip] = datagrams("icmp-unreachable.pcap");

  it("reads the error and the whole quoted datagram", () => {
    const icmp = ok(decodeIcmp(ip!.payload));
    expect(icmp.type).toBe(IcmpType.DestinationUnreachable);
    expect(icmp.code).toBe(UnreachableCode.Port);
    expect(icmp.checksum).toBe(0x112e);
    expect(icmp.rest).toBe(0);
    expect(icmp.isError).toBe(true);
    expect(icmp.data.length).toBe(31);
    const q = ok(decodeIcmpQuote(icmp));
    expect(q.protocol).toBe(IpProtocol.Udp);
    expect(formatIpv4(q.source)).toBe("10.9.0.1");
    expect(formatIpv4(q.destination)).toBe("10.9.0.2");
    expect(q.totalLength).toBe(31);
    expect(q.identification).toBe(0x988b);
    // UDP 56960 -> 9, length 11, checksum 0x9ad0, then "hi\n".
    expect(toHex(q.payload)).toBe("de800009000b9ad068690a");
    expect(reencode(icmp)).toBe(toHex(ip!.payload));
  });
});

describe("building errors", () => {
  const quoted = fromHex("4500 0028 0001 4000 4006 0000 0a000002 0a000001 c350 0050 11223344 55667788");

  it("writes fragmentation-needed with the next-hop MTU (RFC 1191 §4)", () => {
    const m = encodeIcmp(
      { type: IcmpType.DestinationUnreachable, code: UnreachableCode.FragmentationNeeded, nextHopMtu: 1400 },
      quoted,
    );
    expect(toHex(m.subarray(0, 2))).toBe("0304");
    expect(toHex(m.subarray(4, 8))).toBe("00000578");
    const icmp = ok(decodeIcmp(m));
    expect(icmp.nextHopMtu).toBe(1400);
    const q = ok(decodeIcmpQuote(icmp));
    expect(q.protocol).toBe(6);
    expect(toHex(q.payload)).toBe("c35000501122334455667788".slice(0, 24));
  });

  it("writes time exceeded and parameter problem", () => {
    const te = ok(
      decodeIcmp(
        encodeIcmp({ type: IcmpType.TimeExceeded, code: TimeExceededCode.FragmentReassembly }, quoted),
      ),
    );
    expect([te.type, te.code, te.rest, te.isError]).toEqual([11, 1, 0, true]);
    const pp = ok(decodeIcmp(encodeIcmp({ type: IcmpType.ParameterProblem, pointer: 20 }, quoted)));
    expect(pp.pointer).toBe(20);
    expect(pp.rest).toBe(20 << 24);
    const rd = ok(decodeIcmp(encodeIcmp({ type: IcmpType.Redirect, code: 1, rest: 0x0a0000fe }, quoted)));
    expect(rd.gateway).toBe(0x0a0000fe);
  });

  it("classifies error types", () => {
    expect([0, 3, 4, 5, 8, 11, 12, 13, 14].map(isIcmpError)).toEqual([
      false,
      true,
      true,
      true,
      false,
      true,
      true,
      false,
      false,
    ]);
  });

  it("computes the checksum over odd lengths like RFC 1071's reference", () => {
    for (const n of [0, 1, 3, 55, 57, 1471, 1473]) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff);
      const m = encodeIcmp({ type: 8, identifier: 0xabcd, sequence: n }, data);
      const zeroed = m.slice();
      zeroed[2] = zeroed[3] = 0;
      expect(m[2]! * 256 + m[3]!).toBe(referenceChecksum(zeroed));
      expect(ok(decodeIcmp(m)).data.length).toBe(n);
    }
  });

  it("throws a RangeError naming the size when the buffer has no room", () => {
    expect(() => encodeIcmp({ type: 8 }, new Uint8Array(3), new Uint8Array(10))).toThrow(/needs 11 bytes/);
    expect(() => writeIcmpHeader({ type: 8 }, new Uint8Array(8), 1)).toThrow(/needs 8 bytes at offset 1/);
  });
});

describe("malformed messages are DecodeError values", () => {
  const good = encodeIcmp({ type: 8, identifier: 1, sequence: 2 }, fromHex("01020304050607"));
  it("refuses fewer than 8 bytes", () => {
    for (const n of [0, 1, 7]) {
      const e = decodeIcmp(good.subarray(0, n)) as DecodeError;
      expect([e.layer, e.reason, e.at]).toEqual(["icmp", "truncated", n]);
    }
  });
  it("refuses a bad checksum, and trailing bytes (which the checksum covers)", () => {
    const b = good.slice();
    b[9]! ^= 0x10;
    expect((decodeIcmp(b) as DecodeError).reason).toBe("bad-checksum");
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    longer[good.length] = 0x33;
    expect((decodeIcmp(longer) as DecodeError).reason).toBe("bad-checksum");
    expect(ok(decodeIcmp(b, false)).sequence).toBe(2);
  });

  const quoteCases: [string, string, string][] = [
    ["a quote shorter than an IP header", "4500 0028 0001", "truncated"],
    ["a quoted IPv6 header", `6000 0000 0008 1140 ${"00".repeat(12)} 0000 0000 0000 0000`, "bad-version"],
    ["a quoted IHL of 4", `4400 0028 ${"00".repeat(16)} 0000 0000 0000 0000`, "bad-length"],
    ["a quote with 4 transport bytes", `4500 0028 ${"00".repeat(16)} c350 0050`, "truncated"],
    [
      "a quoted total length below the header",
      `4500 0010 ${"00".repeat(16)} 0000 0000 0000 0000`,
      "bad-length",
    ],
    [
      "a quoted datagram shorter than header + 8",
      `4500 0018 ${"00".repeat(16)} 0000 0000 0000 0000`,
      "truncated",
    ],
    ["options claimed but not quoted", `4600 0030 ${"00".repeat(16)} 0000 0000 0000 0000`, "truncated"],
  ];
  for (const [name, hex, reason] of quoteCases) {
    it(`refuses ${name}`, () => {
      const icmp = ok(decodeIcmp(encodeIcmp({ type: 3, code: 3 }, fromHex(hex))));
      const e = decodeIcmpQuote(icmp);
      expect(e).toBeInstanceOf(DecodeError);
      expect((e as DecodeError).reason).toBe(reason);
    });
  }
});

describe("properties", () => {
  it("decode(encode(h, data)) gives back the header fields and data", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ maxLength: 1500 }),
        fc.integer({ min: 0, max: 9 }),
        (type, code, rest, data, at) => {
          const out = new Uint8Array(at + 8 + data.length);
          const m = encodeIcmp({ type, code, rest }, data, out, at);
          const icmp = ok(decodeIcmp(m));
          expect(icmp.toHeader()).toEqual({ type, code, rest });
          expect(toHex(icmp.data)).toBe(toHex(data));
          expect(icmp.checksum).toBe(
            referenceChecksum(Uint8Array.from([type, code, 0, 0, ...m.subarray(4)])),
          );
        },
      ),
    );
  });

  it("echo fields round-trip", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 8),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.uint8Array({ maxLength: 64 }),
        (type, identifier, sequence, data) => {
          const icmp = ok(decodeIcmp(encodeIcmp({ type, identifier, sequence }, data)));
          return icmp.type === type && icmp.identifier === identifier && icmp.sequence === sequence;
        },
      ),
    );
  });

  it("never throws on arbitrary, truncated or mutated bytes; quotes stay in bounds", () => {
    const real = [...datagrams("arp-ping.pcap"), ...datagrams("icmp-unreachable.pcap")].map((d) => d.payload);
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 120 }), fc.constantFrom(...real)),
        fc.nat(130),
        fc.array(fc.tuple(fc.nat(120), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.boolean(),
        (bytes, cut, flips, verify) => {
          const b = bytes.slice(0, cut);
          for (const [at, v] of flips) if (at < b.length) b[at] = v;
          const r = decodeIcmp(b, verify);
          if (r instanceof DecodeError) return true;
          const q = decodeIcmpQuote(r);
          if (q instanceof DecodeError) return true;
          return q.headerLength + 8 <= q.bytes.length && q.bytes.length <= r.data.length;
        },
      ),
      { numRuns: 5000 },
    );
  });
});
