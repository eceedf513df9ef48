import { decodeEthernet } from "@userstack/ethernet";
import { decodePcap } from "@userstack/pcap";
import { readFixture } from "@userstack/testkit";
import { DecodeError, fromHex, toHex } from "@userstack/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { internetChecksum } from "./checksum.js";
import {
  decodeIpv4,
  encodeIpv4,
  formatIpv4,
  IpProtocol,
  type Ipv4Header,
  type Ipv4View,
  ipv4BufferLength,
  ipv4HeaderLength,
  writeIpv4Header,
} from "./index.js";

/** The IPv4 datagrams (Ethernet payloads) of a capture, in order. */
function datagrams(name: string): Uint8Array[] {
  const file = decodePcap(readFixture(name));
  if (file instanceof DecodeError) throw new Error(String(file));
  const out: Uint8Array[] = [];
  for (const r of file.records) {
    const eth = decodeEthernet(r.data);
    if (eth instanceof DecodeError) throw new Error(String(eth));
    if (eth.etherType === 0x0800) out.push(eth.payload);
  }
  return out;
}

function ok(r: Ipv4View | DecodeError): Ipv4View {
  if (r instanceof DecodeError) throw new Error(String(r));
  return r;
}

/** Re-encodes a view from its plain header and payload; must give the same bytes. */
function reencode(ip: Ipv4View): string {
  const out = new Uint8Array(ip.totalLength + 7).fill(0xa5);
  const copy = encodeIpv4(ip.toHeader(), ip.payload, out, 3);
  expect(toHex(out.subarray(0, 3))).toBe("a5a5a5");
  expect(toHex(out.subarray(3 + ip.totalLength))).toBe("a5a5a5a5");
  return toHex(copy);
}

describe("decodeIpv4 on datagrams the Linux kernel sent", () => {
  it("reads an echo request (arp-ping.pcap #3) field by field", () => {
    const [request, reply] = datagrams("arp-ping.pcap");
    const ip = ok(decodeIpv4(request!));
    expect(ip.version).toBe(4);
    expect(ip.ihl).toBe(5);
    expect(ip.headerLength).toBe(20);
    expect(ip.dscp).toBe(0);
    expect(ip.ecn).toBe(0);
    expect(ip.totalLength).toBe(84);
    expect(ip.identification).toBe(0x61f1);
    expect(ip.reservedFlag).toBe(false);
    expect(ip.dontFragment).toBe(true);
    expect(ip.moreFragments).toBe(false);
    expect(ip.fragmentOffset).toBe(0);
    expect(ip.isFragment).toBe(false);
    expect(ip.ttl).toBe(64);
    expect(ip.protocol).toBe(IpProtocol.Icmp);
    expect(ip.checksum).toBe(0xc4a3);
    expect(formatIpv4(ip.source)).toBe("10.9.0.1");
    expect(formatIpv4(ip.destination)).toBe("10.9.0.2");
    expect(ip.options.length).toBe(0);
    expect(ip.payload.length).toBe(64);
    expect(toHex(ip.payload.subarray(0, 8))).toBe("08000e8518e40001");
    expect(reencode(ip)).toBe(toHex(request!));

    // The reply: Linux clears DF on echo replies and picks its own identification.
    const r = ok(decodeIpv4(reply!));
    expect(r.dontFragment).toBe(false);
    expect(r.identification).toBe(0x2b3a);
    expect(r.checksum).toBe(0x3b5b);
    expect(reencode(r)).toBe(toHex(reply!));
  });

  it("reads real fragments (icmp-fragments.pcap): MF and offsets in bytes", () => {
    const all = datagrams("icmp-fragments.pcap").map((d) => ok(decodeIpv4(d)));
    expect(all.map((ip) => ip.identification)).toEqual([0x6210, 0x6210, 0x6210, 0x2d5d, 0x2d5d, 0x2d5d]);
    expect(all.map((ip) => ip.moreFragments)).toEqual([true, true, false, true, true, false]);
    expect(all.map((ip) => ip.fragmentOffset)).toEqual([0, 1480, 2960, 0, 1480, 2960]);
    expect(all.map((ip) => ip.isFragment)).toEqual([true, true, true, true, true, true]);
    expect(all.map((ip) => ip.dontFragment)).toEqual([false, false, false, false, false, false]);
    expect(all.map((ip) => ip.totalLength)).toEqual([1500, 1500, 68, 1500, 1500, 68]);
    expect(all.map((ip) => ip.checksum)).toEqual([0xdefc, 0xde43, 0x0323, 0x13b0, 0x12f7, 0x37d6]);
    expect(all.map((ip) => ip.payload.length)).toEqual([1480, 1480, 48, 1480, 1480, 48]);
    for (const [i, d] of datagrams("icmp-fragments.pcap").entries()) expect(reencode(all[i]!)).toBe(toHex(d));
  });

  it("reads a TCP session's SYN, SYN-ACK and data (tcp-session.pcap)", () => {
    const d = datagrams("tcp-session.pcap");
    const syn = ok(decodeIpv4(d[0]!));
    expect([syn.totalLength, syn.identification, syn.dontFragment, syn.checksum]).toEqual([
      60,
      0x1a20,
      true,
      0x0c88,
    ]);
    expect(syn.protocol).toBe(IpProtocol.Tcp);
    const synAck = ok(decodeIpv4(d[1]!));
    expect([synAck.identification, synAck.checksum, formatIpv4(synAck.source)]).toEqual([
      0,
      0x26a8,
      "10.9.0.2",
    ]);
    const data = ok(decodeIpv4(d[6]!));
    expect([data.totalLength, data.payload.length]).toEqual([83, 63]);
    for (const bytes of d) expect(reencode(ok(decodeIpv4(bytes)))).toBe(toHex(bytes));
  });

  it("reads the DSCP of an ICMP error (CS6) and the datagram it quotes", () => {
    const [err] = datagrams("icmp-unreachable.pcap");
    const ip = ok(decodeIpv4(err!));
    expect(ip.dscp).toBe(48);
    expect(ip.ecn).toBe(0);
    expect(ip.totalLength).toBe(59);
    expect(ip.identification).toBe(0x2e3d);
    expect(ip.checksum).toBe(0x37b1);
    // The quoted datagram (after the 8-byte ICMP header) is a whole, valid IPv4 datagram here.
    const quoted = ok(decodeIpv4(ip.payload.subarray(8)));
    expect(quoted.protocol).toBe(IpProtocol.Udp);
    expect(quoted.totalLength).toBe(31);
    expect(quoted.dontFragment).toBe(true);
    expect(quoted.checksum).toBe(0x8e2e);
    expect(reencode(ip)).toBe(toHex(err!));
  });

  it("views the caller's bytes without copying", () => {
    const [request] = datagrams("arp-ping.pcap");
    const ip = ok(decodeIpv4(request!));
    expect(ip.payload.buffer).toBe(request!.buffer);
    expect(ip.payload.byteOffset).toBe(request!.byteOffset + 20);
  });
});

describe("decoding in place (a frame and an offset)", () => {
  it("reads a datagram inside its Ethernet frame without a payload subarray", () => {
    const file = decodePcap(readFixture("tcp-session.pcap"));
    if (file instanceof DecodeError) throw new Error(String(file));
    for (const r of file.records) {
      const inPlace = ok(decodeIpv4(r.data, true, 14));
      const copied = ok(decodeIpv4(r.data.slice(14)));
      expect(inPlace.data).toBe(r.data);
      expect([inPlace.start, inPlace.end]).toEqual([14, 14 + copied.totalLength]);
      expect(inPlace.toHeader()).toEqual(copied.toHeader());
      expect(toHex(inPlace.payload)).toBe(toHex(copied.payload));
      expect(toHex(inPlace.bytes)).toBe(toHex(copied.bytes));
      expect(toHex(inPlace.options)).toBe(toHex(copied.options));
      expect(toHex(r.data.subarray(inPlace.payloadStart, inPlace.end))).toBe(toHex(copied.payload));
    }
  });

  it("reuses a view when given one, pointing it at each datagram in turn", () => {
    const [a, b] = [datagrams("arp-ping.pcap")[0]!, datagrams("tcp-session.pcap")[3]!];
    const view = ok(decodeIpv4(a));
    expect(toHex(view.bytes)).toBe(toHex(a));
    expect(decodeIpv4(b, true, 0, view)).toBe(view);
    expect([view.protocol, view.totalLength, view.identification]).toEqual([6, 65, 0x8317]);
    expect(toHex(view.bytes)).toBe(toHex(b)); // not the first datagram's cached bytes
    expect(decodeIpv4(new Uint8Array(3), true, 0, view)).toBeInstanceOf(DecodeError);
  });

  it("gives the same result as decoding the slice, for any prefix and bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 30 }), fc.uint8Array({ maxLength: 80 }), (prefix, body) => {
        if (body.length >= 20) {
          body[0] = 0x45;
          body[2] = 0;
          body[3] = Math.min(body.length, 20 + (body[3]! % 60));
          body[10] = body[11] = 0;
          const c = internetChecksum(body, 0, 20);
          body[10] = c >>> 8;
          body[11] = c & 0xff;
        }
        const joined = new Uint8Array(prefix.length + body.length);
        joined.set(prefix);
        joined.set(body, prefix.length);
        const a = decodeIpv4(joined, true, prefix.length);
        const b = decodeIpv4(body);
        if (a instanceof DecodeError || b instanceof DecodeError) {
          expect(String(a)).toBe(String(b));
          return;
        }
        expect(toHex(a.bytes)).toBe(toHex(b.bytes));
        expect(a.end).toBeLessThanOrEqual(joined.length);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("lengths and padding", () => {
  it("ends the payload at the total length, not at the Ethernet padding", () => {
    // A 40-byte TCP RST padded to the 46-byte minimum Ethernet payload.
    const [, rst] = datagrams("tcp-rst.pcap");
    expect(rst!.length).toBe(40);
    const padded = new Uint8Array(46);
    padded.set(rst!);
    const ip = ok(decodeIpv4(padded));
    expect(ip.bytes.length).toBe(40);
    expect(ip.payload.length).toBe(20);
    expect(toHex(ip.bytes)).toBe(toHex(rst!));
  });

  it("writes options, pads them to 4 bytes, and preserves them byte for byte", () => {
    // Router Alert (4 bytes) + NOP + a 3-byte Record Route with no slots + NOP: 9 bytes, 3 of padding.
    const options = fromHex("94040000 01 070304 01");
    const h: Ipv4Header = { protocol: 2, source: 0x0a000001, destination: 0xe0000016, options, ttl: 1 };
    expect(ipv4HeaderLength(h)).toBe(32);
    expect(ipv4BufferLength(h, 5)).toBe(37);
    const bytes = encodeIpv4(h, fromHex("0102030405"));
    expect(bytes.length).toBe(37);
    expect(toHex(bytes.subarray(0, 1))).toBe("48");
    expect(internetChecksum(bytes, 0, 32)).toBe(0);
    const ip = ok(decodeIpv4(bytes));
    expect(ip.headerLength).toBe(32);
    expect(toHex(ip.options)).toBe("940400000107030401000000");
    expect(toHex(ip.payload)).toBe("0102030405");
    expect(toHex(encodeIpv4(ip.toHeader(), ip.payload))).toBe(toHex(bytes));
  });

  it("writes every field where RFC 791 puts it", () => {
    const out = new Uint8Array(24).fill(0xa5);
    const at = writeIpv4Header(
      {
        dscp: 46,
        ecn: 3,
        identification: 0xbeef,
        reservedFlag: true,
        dontFragment: true,
        moreFragments: true,
        fragmentOffset: 8 * 0x1abc,
        ttl: 255,
        protocol: 17,
        source: 0xc0a80001,
        destination: 0xffffffff,
        payloadLength: 100,
      },
      out,
      2,
    );
    expect(at).toBe(22);
    const hex = toHex(out.subarray(2, 22));
    // 45 | bb (46<<2|3) | 0078 (120) | beef | flags e0 + offset 1abc = fabc | ff | 11 | csum | c0a80001 | ffffffff
    expect(hex.slice(0, 20)).toBe("45bb0078beeffabcff11");
    expect(hex.slice(24)).toBe("c0a80001ffffffff");
    expect(internetChecksum(out, 2, 22)).toBe(0);
    expect(toHex(out.subarray(22))).toBe("a5a5");
  });

  it("throws a RangeError that names the fix for impossible headers", () => {
    const h: Ipv4Header = { protocol: 6, source: 1, destination: 2 };
    expect(() => writeIpv4Header({ ...h, options: new Uint8Array(41) }, new Uint8Array(80))).toThrow(
      /at most 40/,
    );
    expect(() => writeIpv4Header({ ...h, fragmentOffset: 12 }, new Uint8Array(20))).toThrow(/multiple of 8/);
    expect(() => writeIpv4Header({ ...h, payloadLength: 65516 }, new Uint8Array(20))).toThrow(
      /fragment or send less/,
    );
    expect(() => writeIpv4Header(h, new Uint8Array(19))).toThrow(/needs 20 bytes/);
    expect(() => encodeIpv4(h, new Uint8Array(10), new Uint8Array(29))).toThrow(/needs 30 bytes/);
  });
});

describe("malformed datagrams are DecodeError values", () => {
  const good = encodeIpv4({ protocol: 6, source: 0x0a000001, destination: 0x0a000002 }, new Uint8Array(12));
  /** `good` with byte `at` set to `v` and the header checksum made valid again. */
  const mutate = (at: number, v: number, fix = true) => {
    const b = good.slice();
    b[at] = v;
    if (fix) {
      b[10] = b[11] = 0;
      const hl = Math.min(((b[0]! & 15) << 2) >>> 0, b.length);
      const c = internetChecksum(b, 0, hl);
      b[10] = c >>> 8;
      b[11] = c & 0xff;
    }
    return b;
  };
  const cases: [string, Uint8Array, string, number][] = [
    ["empty", new Uint8Array(0), "truncated", 0],
    ["19 bytes", good.subarray(0, 19), "truncated", 19],
    ["version 6", mutate(0, 0x65), "bad-version", 0],
    ["version 0", mutate(0, 0x05), "bad-version", 0],
    ["IHL 4", mutate(0, 0x44), "bad-length", 0],
    ["IHL 0", mutate(0, 0x40), "bad-length", 0],
    ["IHL 15 in a 32-byte buffer", mutate(0, 0x4f, false), "truncated", 32],
    ["total length 19", mutate(3, 19), "bad-length", 2],
    ["total length beyond the buffer", mutate(3, 33), "truncated", 32],
    ["a flipped header bit", mutate(8, 0x41, false), "bad-checksum", 10],
    [
      "a zeroed checksum",
      (() => {
        const b = good.slice();
        b[10] = b[11] = 0;
        return b;
      })(),
      "bad-checksum",
      10,
    ],
  ];
  for (const [name, bytes, reason, at] of cases) {
    it(`refuses ${name}`, () => {
      const r = decodeIpv4(bytes);
      expect(r).toBeInstanceOf(DecodeError);
      expect((r as DecodeError).layer).toBe("ipv4");
      expect((r as DecodeError).reason).toBe(reason);
      expect((r as DecodeError).at).toBe(at);
    });
  }

  it("skips the checksum only when asked", () => {
    const b = good.slice();
    b[8] = 1;
    expect(decodeIpv4(b)).toBeInstanceOf(DecodeError);
    expect(ok(decodeIpv4(b, false)).ttl).toBe(1);
  });
});

describe("properties", () => {
  const header = fc.record({
    dscp: fc.integer({ min: 0, max: 63 }),
    ecn: fc.integer({ min: 0, max: 3 }),
    identification: fc.integer({ min: 0, max: 0xffff }),
    reservedFlag: fc.boolean(),
    dontFragment: fc.boolean(),
    moreFragments: fc.boolean(),
    fragmentOffset: fc.integer({ min: 0, max: 0x1fff }).map((o) => o * 8),
    ttl: fc.integer({ min: 0, max: 255 }),
    protocol: fc.integer({ min: 0, max: 255 }),
    source: fc.integer({ min: 0, max: 0xffffffff }),
    destination: fc.integer({ min: 0, max: 0xffffffff }),
    options: fc.uint8Array({ maxLength: 40 }),
  });

  it("decode(encode(h, p)) gives back h (options padded) and p", () => {
    fc.assert(
      fc.property(
        header,
        fc.uint8Array({ maxLength: 600 }),
        fc.integer({ min: 0, max: 20 }),
        (h, payload, pad) => {
          const len = ipv4BufferLength(h, payload.length);
          const buf = new Uint8Array(len + pad).fill(0xee);
          encodeIpv4(h, payload, buf);
          const ip = ok(decodeIpv4(buf));
          const padded = new Uint8Array((h.options.length + 3) & ~3);
          padded.set(h.options);
          const back = ip.toHeader();
          expect(back).toEqual({
            ...h,
            options: padded.length > 0 ? padded : undefined,
            payloadLength: payload.length,
          });
          if (padded.length === 0) expect("options" in back).toBe(false);
          expect(toHex(ip.payload)).toBe(toHex(payload));
        },
      ),
    );
  });

  it("never throws on arbitrary bytes, and accepted views stay in bounds", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.boolean(), (bytes, verify) => {
        // Give random input a real chance to get past the version and checksum checks.
        if (bytes.length >= 20 && verify) {
          bytes[0] = 0x40 | (bytes[0]! & 0x0f);
          bytes[10] = bytes[11] = 0;
          const c = internetChecksum(bytes, 0, Math.min(bytes.length, (bytes[0]! & 15) * 4));
          bytes[10] = c >>> 8;
          bytes[11] = c & 0xff;
        }
        const r = decodeIpv4(bytes, verify);
        if (r instanceof DecodeError) return true;
        return (
          r.bytes.length === r.totalLength &&
          r.totalLength <= bytes.length &&
          r.headerLength >= 20 &&
          r.headerLength <= r.totalLength &&
          r.payload.length === r.totalLength - r.headerLength &&
          r.options.length === r.headerLength - 20
        );
      }),
      { numRuns: 5000 },
    );
  });

  it("detects any single changed header byte of a real datagram, and never throws on truncation", () => {
    const real = [
      ...datagrams("arp-ping.pcap"),
      ...datagrams("icmp-fragments.pcap"),
      ...datagrams("tcp-session.pcap"),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...real),
        fc.nat(19),
        fc.integer({ min: 1, max: 255 }),
        fc.nat(1600),
        (bytes, at, delta, cut) => {
          const b = bytes.slice();
          b[at] = (b[at]! + delta) & 0xff;
          // One's complement arithmetic sees any one-byte change: it moves a word by k or k·256, 0 < k < 256.
          expect(decodeIpv4(b)).toBeInstanceOf(DecodeError);
          const t = decodeIpv4(bytes.subarray(0, Math.min(cut, bytes.length)));
          expect(t instanceof DecodeError).toBe(cut < bytes.length);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
