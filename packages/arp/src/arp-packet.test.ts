import { decodeEthernet, EtherType, formatMac, parseMac, ZERO_MAC } from "@userstack/ethernet";
import { decodePcap } from "@userstack/pcap";
import { readFixture } from "@userstack/testkit";
import { DecodeError, fromHex, toHex } from "@userstack/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ARP_PACKET_LENGTH,
  type ArpHeader,
  ArpOp,
  type ArpView,
  arpBufferLength,
  decodeArp,
  encodeArp,
  writeArp,
} from "./index.js";

/** The ARP payloads of the kernel's request and reply in arp-ping.pcap. */
function capturedArp(): Uint8Array[] {
  const file = decodePcap(readFixture("arp-ping.pcap"));
  if (file instanceof DecodeError) throw new Error(String(file));
  const out: Uint8Array[] = [];
  for (const r of file.records) {
    const eth = decodeEthernet(r.data);
    if (eth instanceof DecodeError) throw new Error(String(eth));
    if (eth.etherType === EtherType.Arp) out.push(eth.payload);
  }
  return out;
}

function ok(r: ArpView | DecodeError): ArpView {
  if (r instanceof DecodeError) throw new Error(String(r));
  return r;
}

describe("decodeArp on the Linux kernel's request and reply", () => {
  const [request, reply] = capturedArp();

  it("finds both packets in the capture", () => {
    expect(request!.length).toBe(28);
    expect(reply!.length).toBe(28);
  });

  it("reads the broadcast request: who has 10.9.0.2? tell 10.9.0.1", () => {
    const arp = ok(decodeArp(request!));
    expect(arp.hardwareType).toBe(1);
    expect(arp.protocolType).toBe(0x0800);
    expect(arp.hardwareLength).toBe(6);
    expect(arp.protocolLength).toBe(4);
    expect(arp.op).toBe(ArpOp.Request);
    expect(formatMac(arp.senderMac)).toBe("66:d9:aa:c2:02:d4");
    expect(arp.senderIp).toBe(0x0a090001);
    expect(formatMac(arp.targetMac)).toBe("00:00:00:00:00:00");
    expect(arp.targetIp).toBe(0x0a090002);
  });

  it("reads the reply: 10.9.0.2 is at ea:38:8b:53:e8:8d", () => {
    const arp = ok(decodeArp(reply!));
    expect(arp.op).toBe(ArpOp.Reply);
    expect(formatMac(arp.senderMac)).toBe("ea:38:8b:53:e8:8d");
    expect(arp.senderIp).toBe(0x0a090002);
    expect(formatMac(arp.targetMac)).toBe("66:d9:aa:c2:02:d4");
    expect(arp.targetIp).toBe(0x0a090001);
  });

  it("views the caller's bytes without copying", () => {
    const arp = ok(decodeArp(request!));
    expect(arp.bytes.buffer).toBe(request!.buffer);
    expect(arp.senderMac.buffer).toBe(request!.buffer);
    expect(arp.senderMac.byteOffset).toBe(request!.byteOffset + 8);
  });

  it("re-encodes both byte for byte, at an offset in a dirty buffer", () => {
    for (const bytes of [request!, reply!]) {
      const h = ok(decodeArp(bytes)).toHeader();
      const out = new Uint8Array(40).fill(0xa5);
      expect(writeArp(h, out, 5)).toBe(33);
      expect(toHex(out.subarray(0, 5))).toBe("a5a5a5a5a5");
      expect(toHex(out.subarray(5, 33))).toBe(toHex(bytes));
      expect(toHex(out.subarray(33))).toBe("a5a5a5a5a5a5a5");
      expect(toHex(encodeArp(h))).toBe(toHex(bytes));
    }
  });
});

describe("encodeArp", () => {
  const h: ArpHeader = {
    op: ArpOp.Request,
    senderMac: parseMac("02:00:00:00:00:01")!,
    senderIp: 0x0a000001,
    targetMac: ZERO_MAC,
    targetIp: 0x0a000002,
  };

  it("writes the RFC 826 layout", () => {
    expect(arpBufferLength(h)).toBe(28);
    expect(toHex(encodeArp(h))).toBe(
      "0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002".replace(/ /g, ""),
    );
  });

  it("returns a view of the caller's buffer when one is given", () => {
    const out = new Uint8Array(64);
    const p = encodeArp(h, out, 14);
    expect(p.buffer).toBe(out.buffer);
    expect(p.byteOffset).toBe(14);
    expect(p.length).toBe(ARP_PACKET_LENGTH);
  });

  it("keeps an unknown operation code as a number", () => {
    const bytes = encodeArp({ ...h, op: 9 });
    expect(ok(decodeArp(bytes)).op).toBe(9);
  });

  it("refuses a buffer without room and a short MAC, with a RangeError that says what to do", () => {
    expect(() => writeArp(h, new Uint8Array(30), 3)).toThrow(/needs 28 bytes at offset 3/);
    expect(() => writeArp({ ...h, targetMac: new Uint8Array(0) }, new Uint8Array(28))).toThrow(/ZERO_MAC/);
  });
});

describe("padded frames", () => {
  it("accepts a 46-byte payload of a minimum-size Ethernet frame and excludes the padding", () => {
    const [request] = capturedArp();
    const padded = new Uint8Array(46).fill(0xee);
    padded.set(request!);
    const arp = ok(decodeArp(padded));
    expect(arp.bytes.length).toBe(28);
    expect(arp.targetIp).toBe(0x0a090002);
    expect(toHex(arp.bytes)).toBe(toHex(request!));
  });
});

describe("malformed packets are DecodeError values", () => {
  const good = fromHex("0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002");
  const mutate = (at: number, v: number) => {
    const b = good.slice();
    b[at] = v;
    return b;
  };
  const cases: [string, Uint8Array, string, number][] = [
    ["empty", new Uint8Array(0), "truncated", 0],
    ["27 bytes", good.subarray(0, 27), "truncated", 27],
    ["8-byte fixed part only", good.subarray(0, 8), "truncated", 8],
    ["hardware type 6 (IEEE 802)", mutate(1, 6), "unsupported", 0],
    ["protocol type IPv6", (() => fromHex(`000186dd0604${toHex(good.subarray(6))}`))(), "unsupported", 2],
    ["hardware length 8", mutate(4, 8), "bad-length", 4],
    ["protocol length 16", mutate(5, 16), "bad-length", 5],
  ];
  for (const [name, bytes, reason, at] of cases) {
    it(`refuses ${name}`, () => {
      const r = decodeArp(bytes);
      expect(r).toBeInstanceOf(DecodeError);
      expect((r as DecodeError).layer).toBe("arp");
      expect((r as DecodeError).reason).toBe(reason);
      expect((r as DecodeError).at).toBe(at);
    });
  }
});

describe("properties", () => {
  const mac = fc.uint8Array({ minLength: 6, maxLength: 6 });
  const header = fc.record({
    op: fc.integer({ min: 0, max: 0xffff }),
    senderMac: mac,
    senderIp: fc.integer({ min: 0, max: 0xffffffff }),
    targetMac: mac,
    targetIp: fc.integer({ min: 0, max: 0xffffffff }),
  });

  it("decode(encode(h)) gives back h, with or without padding", () => {
    fc.assert(
      fc.property(header, fc.integer({ min: 0, max: 32 }), (h, pad) => {
        const buf = new Uint8Array(28 + pad).fill(0x5a);
        encodeArp(h, buf);
        const arp = ok(decodeArp(buf));
        expect(arp.toHeader()).toEqual(h);
      }),
    );
  });

  it("never throws on arbitrary bytes, and accepted views stay in bounds", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const r = decodeArp(bytes);
        if (r instanceof DecodeError) return bytes.length < 28 || r.reason !== "truncated";
        return r.bytes.length === 28 && r.senderMac.length === 6 && r.targetMac.length === 6;
      }),
      { numRuns: 3000 },
    );
  });

  it("never throws on truncated or mutated real packets", () => {
    const real = capturedArp();
    fc.assert(
      fc.property(
        fc.constantFrom(...real),
        fc.integer({ min: 0, max: 28 }),
        fc.array(fc.tuple(fc.nat(27), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (bytes, cut, flips) => {
          const b = bytes.slice(0, cut);
          for (const [at, v] of flips) if (at < b.length) b[at] = v;
          const r = decodeArp(b);
          if (cut < 28) return r instanceof DecodeError && r.reason === "truncated";
          // A whole packet decodes exactly when its fixed part still names Ethernet/IPv4.
          const fixedOk = toHex(b.subarray(0, 6)) === "000108000604";
          return fixedOk === !(r instanceof DecodeError);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
