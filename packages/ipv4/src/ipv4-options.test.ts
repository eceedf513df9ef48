import { DecodeError, fromHex, toHex } from "@userstack/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  copiedIpv4Options,
  encodeIpv4Options,
  type Ipv4Option,
  Ipv4OptionType,
  ipv4OptionCopied,
  parseIpv4Options,
} from "./index.js";

function ok(r: Ipv4Option[] | DecodeError): Ipv4Option[] {
  if (r instanceof DecodeError) throw new Error(String(r));
  return r;
}

describe("IPv4 options (RFC 791 §3.1)", () => {
  it("parses every option kind and stops at End of Option List", () => {
    const bytes = fromHex(
      [
        "01", // NOP
        "94 04 0000", // Router Alert
        "07 07 04 0a000001", // Record Route with one recorded address
        "44 0c 05 01 00000000 00000000", // Timestamp, flag 1 (address + time), one empty slot
        "83 07 04 0a000002", // Loose source route
        "89 07 08 0a000003", // Strict source route, pointer past the end (route done)
        "88 04 1234", // Stream ID
        "82 0b 0000 0000 0000 000000", // Security (RFC 1108 layout, 11 bytes)
        "9e 03 ff", // an unknown copied option, kept
        "00 ff ff", // End, then bytes that must be ignored
      ].join(""),
    );
    const list = ok(parseIpv4Options(bytes));
    expect(list.map((o) => o.type)).toEqual([1, 148, 7, 68, 131, 137, 136, 130, 0x9e]);
    expect(list.map((o) => toHex(o.data))).toEqual([
      "",
      "0000",
      "040a000001",
      "050100000000" + "00000000",
      "040a000002",
      "080a000003",
      "1234",
      "000000000000000000",
      "ff",
    ]);
    // Data are views into the given bytes.
    expect(list[1]!.data.buffer).toBe(bytes.buffer);
  });

  it("serialises options back to the same bytes", () => {
    const bytes = fromHex("01 9404 0000 0707 04 0a000001 01 01");
    expect(toHex(encodeIpv4Options(ok(parseIpv4Options(bytes))))).toBe(toHex(bytes));
    expect(() => encodeIpv4Options([{ type: 7, data: new Uint8Array(254) }])).toThrow(RangeError);
  });

  it("knows which options are copied into fragments", () => {
    expect(ipv4OptionCopied(Ipv4OptionType.LooseSourceRoute)).toBe(true);
    expect(ipv4OptionCopied(Ipv4OptionType.Security)).toBe(true);
    expect(ipv4OptionCopied(Ipv4OptionType.RouterAlert)).toBe(true);
    expect(ipv4OptionCopied(Ipv4OptionType.RecordRoute)).toBe(false);
    expect(ipv4OptionCopied(Ipv4OptionType.Timestamp)).toBe(false);
    expect(ipv4OptionCopied(Ipv4OptionType.Nop)).toBe(false);
    const all = fromHex("01 9404 0000 0707 04 0a000001 8307 04 0a000002 00");
    expect(toHex(copiedIpv4Options(all))).toBe("94040000" + "8307040a000002");
    expect(copiedIpv4Options(fromHex("0705")).length).toBe(0);
  });

  const malformed: [string, string, number][] = [
    ["a type with no length", "01 07", 1],
    ["length 1", "07 01 04", 1],
    ["length 0", "9e 00", 1],
    ["an option running past the header", "07 0b 04 0a000001", 1],
    ["a record route pointer below 4", "07 07 03 0a000001", 1],
    ["a record route of length 2", "07 02", 1],
    ["a timestamp pointer below 5", "44 08 04 00 00000000", 1],
    ["a router alert of length 6", "94 06 00000000", 1],
    ["a stream id of length 3", "88 03 00 00", 1],
  ];
  for (const [name, hex, at] of malformed) {
    it(`refuses ${name}`, () => {
      const r = parseIpv4Options(fromHex(hex));
      expect(r).toBeInstanceOf(DecodeError);
      expect((r as DecodeError).reason).toBe("bad-option");
      expect((r as DecodeError).at).toBe(at);
    });
  }

  it("never throws on arbitrary option bytes; parsed options stay inside them", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const r = parseIpv4Options(bytes);
        if (r instanceof DecodeError) return r.at < bytes.length;
        let used = 0;
        for (const o of r) used += o.type <= 1 ? 1 : 2 + o.data.length;
        return used <= bytes.length;
      }),
      { numRuns: 5000 },
    );
  });

  it("round-trips any well-formed option list", () => {
    const option = fc.oneof(
      fc.constant({ type: 1, data: new Uint8Array(0) }),
      fc.record({ type: fc.constantFrom(0x9e, 0x19, 0x52), data: fc.uint8Array({ maxLength: 6 }) }),
      fc.record({ type: fc.constant(148), data: fc.uint8Array({ minLength: 2, maxLength: 2 }) }),
    );
    fc.assert(
      fc.property(fc.array(option, { maxLength: 5 }), (list) => {
        const back = ok(parseIpv4Options(encodeIpv4Options(list)));
        expect(back.map((o) => [o.type, toHex(o.data)])).toEqual(list.map((o) => [o.type, toHex(o.data)]));
      }),
    );
  });
});
