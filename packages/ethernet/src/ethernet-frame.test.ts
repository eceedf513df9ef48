import { decodePcap, type PcapFile } from "@userstack/pcap";
import { readFixture } from "@userstack/testkit";
import { DecodeError, fromHex, toHex } from "@userstack/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeEthernet,
  EthernetView,
  EtherType,
  encodeEthernet,
  ethernetHeaderLength,
  formatMac,
  writeEthernetHeader,
} from "./index.js";

function capture(name: string): PcapFile {
  const f = decodePcap(readFixture(name));
  if (f instanceof DecodeError) throw new Error(String(f));
  return f;
}

describe("decodeEthernet on frames the Linux kernel sent", () => {
  const arp = capture("arp-ping.pcap").records;

  it("reads the broadcast ARP request", () => {
    const eth = decodeEthernet(arp[0]!.data);
    if (eth instanceof DecodeError) throw new Error(String(eth));
    expect(formatMac(eth.destination)).toBe("ff:ff:ff:ff:ff:ff");
    expect(formatMac(eth.source)).toBe("66:d9:aa:c2:02:d4");
    expect(eth.etherType).toBe(EtherType.Arp);
    expect(eth.tagged).toBe(false);
    expect(eth.vlan).toBeUndefined();
    expect(eth.vlanId).toBe(-1);
    expect(eth.payload.length).toBe(28);
  });

  it("reads the unicast echo request and re-encodes it byte for byte", () => {
    const bytes = arp[2]!.data;
    const eth = decodeEthernet(bytes) as EthernetView;
    expect(eth.etherType).toBe(EtherType.Ipv4);
    expect(formatMac(eth.destination)).toBe("ea:38:8b:53:e8:8d");
    const again = encodeEthernet(
      { destination: eth.destination, source: eth.source, etherType: eth.etherType },
      eth.payload,
    );
    expect(toHex(again)).toBe(toHex(bytes));
  });
});

describe("padding and VLAN tags", () => {
  it("pads short frames to 60 bytes with zeros, and the payload keeps the padding", () => {
    const h = {
      destination: fromHex("ffffffffffff"),
      source: fromHex("020000000001"),
      etherType: EtherType.Arp,
    };
    const frame = encodeEthernet(h, fromHex("0102"));
    expect(frame.length).toBe(60);
    expect(toHex(frame.subarray(12, 18))).toBe("080601020000");
    const eth = decodeEthernet(frame) as EthernetView;
    expect(eth.payload.length).toBe(46); // the inner protocol's own length says where its data ends
    expect(encodeEthernet(h, fromHex("0102"), undefined, 0, false).length).toBe(16);
  });

  it("writes and reads an 802.1Q tag", () => {
    const h = {
      destination: fromHex("020000000002"),
      source: fromHex("020000000001"),
      etherType: EtherType.Ipv4,
      vlan: { id: 42, priority: 5, dropEligible: true },
    };
    expect(ethernetHeaderLength(h)).toBe(18);
    const out = new Uint8Array(64).fill(0xa5);
    const payloadAt = writeEthernetHeader(h, out, 2);
    expect(payloadAt).toBe(20);
    // TPID 8100, TCI = PCP 5 | DEI | VID 42 = 0xb02a, then the inner type.
    expect(toHex(out.subarray(0, 22))).toBe("a5a5020000000002020000000001" + "8100b02a0800a5a5");
    const eth = decodeEthernet(out.subarray(2, 60)) as EthernetView;
    expect(eth.headerLength).toBe(18);
    expect(eth.etherType).toBe(EtherType.Ipv4);
    expect(eth.vlan).toEqual({ id: 42, priority: 5, dropEligible: true });
    expect(eth.vlanId).toBe(42);
  });

  it("follows a QinQ (802.1ad + 802.1Q) stack to the inner type", () => {
    const frame = fromHex(`ffffffffffff 020000000001 88a8 0064 8100 002a 0806${"00".repeat(28)}`);
    const eth = decodeEthernet(frame) as EthernetView;
    expect(eth.headerLength).toBe(22);
    expect(eth.etherType).toBe(EtherType.Arp);
    expect(eth.vlanId).toBe(42);
  });
});

describe("malformed frames are values, not exceptions", () => {
  it("refuses a frame shorter than its header", () => {
    const e = decodeEthernet(fromHex("ffffffffffff02000000000108"));
    expect(e).toBeInstanceOf(DecodeError);
    expect((e as DecodeError).reason).toBe("truncated");
  });

  it("refuses a tag with no room for the inner type", () => {
    const e = decodeEthernet(fromHex("ffffffffffff 020000000001 8100 002a"));
    expect((e as DecodeError).reason).toBe("truncated");
  });

  it("refuses IEEE 802.3 length-framed frames", () => {
    const e = decodeEthernet(fromHex(`ffffffffffff 020000000001 0026${"00".repeat(46)}`));
    expect((e as DecodeError).reason).toBe("unsupported");
  });

  it("never throws and never reads out of bounds on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const r = decodeEthernet(bytes);
        if (r instanceof DecodeError) return true;
        // Every getter of an accepted view stays inside the input.
        return (
          r.headerLength <= bytes.length &&
          r.destination.length === 6 &&
          r.source.length === 6 &&
          r.etherType > 1500 &&
          r.payload.length === bytes.length - r.headerLength &&
          (r.vlan === undefined || r.vlan.id <= 0xfff)
        );
      }),
      { numRuns: 5000 },
    );
  });
});

describe("round trip", () => {
  const mac = fc.uint8Array({ minLength: 6, maxLength: 6 });
  it("decode(encode(h, p)) gives back h and p", () => {
    fc.assert(
      fc.property(
        mac,
        mac,
        fc.integer({ min: 0x0600, max: 0xffff }).filter((t) => t !== 0x8100 && t !== 0x88a8),
        fc.option(
          fc.record({
            id: fc.integer({ min: 0, max: 4095 }),
            priority: fc.integer({ min: 0, max: 7 }),
            dropEligible: fc.boolean(),
          }),
          { nil: undefined },
        ),
        fc.uint8Array({ maxLength: 1500 }),
        (destination, source, etherType, vlan, payload) => {
          const frame = encodeEthernet(
            { destination, source, etherType, vlan },
            payload,
            undefined,
            0,
            false,
          );
          const eth = decodeEthernet(frame) as EthernetView;
          expect(toHex(eth.destination)).toBe(toHex(destination));
          expect(toHex(eth.source)).toBe(toHex(source));
          expect(eth.etherType).toBe(etherType);
          expect(eth.vlan).toEqual(vlan);
          expect(toHex(eth.payload)).toBe(toHex(payload));
        },
      ),
    );
  });
});

/** The checks of RFC 894 / IEEE 802.1Q the obvious way: the decoder must agree on every input. */
function referenceDecode(b: Uint8Array): string {
  if (b.length < 14) return "truncated";
  let at = 12;
  for (let tags = 0; tags < 2 && [0x8100, 0x88a8].includes((b[at]! << 8) | b[at + 1]!); tags++) {
    at += 4;
    if (b.length < at + 2) return "truncated";
  }
  const type = (b[at]! << 8) | b[at + 1]!;
  return type <= 1500 ? "unsupported" : `header ${at + 2} type ${type}`;
}

describe("a reused view (decodeEthernet's into)", () => {
  const frames = capture("tcp-session.pcap").records.map((r) => r.data);

  it("points the view at each captured frame in turn and returns it", () => {
    const view = decodeEthernet(frames[0]!) as EthernetView;
    for (const frame of frames) {
      expect(decodeEthernet(frame, view)).toBe(view);
      expect(view.bytes).toBe(frame);
      expect([view.headerLength, view.etherType, formatMac(view.source)]).toEqual([
        14,
        EtherType.Ipv4,
        formatMac(frame.subarray(6, 12)),
      ]);
    }
    const tagged = fromHex(`ffffffffffff 020000000001 8100 a02a 0806 ${"00".repeat(28)}`);
    expect(decodeEthernet(tagged, view)).toBe(view);
    expect([view.headerLength, view.vlanId, view.etherType]).toEqual([18, 42, EtherType.Arp]);
    expect(decodeEthernet(tagged.subarray(0, 13), view)).toBeInstanceOf(DecodeError);
  });

  it("decodes any bytes as the reference does, fresh or into a reused view", () => {
    const reused = new EthernetView(new Uint8Array(0), 0);
    const tagOrType = fc.constantFrom(0x8100, 0x88a8, 0x0800, 0x05dc, 0x05dd, 0x0600, 0xffff);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), tagOrType, tagOrType, tagOrType, (b, t1, t2, t3) => {
        // Plant types and tags where the decoder looks, so that every branch is reached.
        for (const [at, t] of [
          [12, t1],
          [16, t2],
          [20, t3],
        ] as const)
          if (b.length >= at + 2) [b[at], b[at + 1]] = [t >>> 8, t & 0xff];
        const expected = referenceDecode(b);
        for (const r of [decodeEthernet(b), decodeEthernet(b, reused)]) {
          expect(r instanceof DecodeError ? r.reason : `header ${r.headerLength} type ${r.etherType}`).toBe(
            expected,
          );
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe("writeEthernetHeader", () => {
  it("writes both MACs and the type where RFC 894 puts them, nothing else", () => {
    const out = new Uint8Array(20).fill(0xa5);
    const h = { destination: fromHex("ea388b53e88d"), source: fromHex("66d9aac202d4"), etherType: 0x0800 };
    expect(writeEthernetHeader(h, out, 3)).toBe(17);
    expect(toHex(out)).toBe("a5a5a5ea388b53e88d66d9aac202d40800a5a5a5");
  });

  it("throws a RangeError naming the sizes when the buffer has no room for the header", () => {
    const h = { destination: new Uint8Array(6), source: new Uint8Array(6), etherType: 0x0806 };
    expect(() => writeEthernetHeader(h, new Uint8Array(16), 3)).toThrow(
      "writeEthernetHeader: needs 14 bytes at offset 3, the buffer has 16",
    );
    expect(() => writeEthernetHeader({ ...h, vlan: { id: 1 } }, new Uint8Array(17))).toThrow(RangeError);
    expect(writeEthernetHeader(h, new Uint8Array(14))).toBe(14);
  });
});
