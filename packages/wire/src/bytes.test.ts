import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesEqual, fromHex, put16, put32, toHex, u16, u32 } from "./bytes.js";
import { DecodeError } from "./decode-error.js";

describe("big-endian reads and writes", () => {
  it("reads golden bytes", () => {
    const b = fromHex("12 34 56 78 9a bc de f0");
    expect(u16(b, 0)).toBe(0x1234);
    expect(u16(b, 6)).toBe(0xdef0);
    expect(u32(b, 0)).toBe(0x12345678);
    expect(u32(b, 4)).toBe(0x9abcdef0); // unsigned even with the top bit set
  });

  it("writes only the bytes it owns", () => {
    const b = new Uint8Array(8).fill(0xa5);
    put16(b, 1, 0xbeef);
    put32(b, 3, 0xdeadbeef);
    expect(toHex(b)).toBe("a5beefdeadbeefa5");
  });

  it("round-trips any value", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffff }),
        (v32, v16) => {
          const b = new Uint8Array(6);
          put32(b, 0, v32);
          put16(b, 4, v16);
          return u32(b, 0) === v32 && u16(b, 4) === v16;
        },
      ),
    );
  });

  it("hex round-trips and rejects junk", () => {
    expect(bytesEqual(fromHex("00:1b:21:0a:ff:ee"), Uint8Array.of(0, 0x1b, 0x21, 0x0a, 0xff, 0xee))).toBe(
      true,
    );
    expect(() => fromHex("abc")).toThrow(RangeError);
    expect(() => fromHex("zz")).toThrow(RangeError);
    expect(bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 2))).toBe(false);
  });
});

describe("DecodeError", () => {
  it("is a cheap value, not an Error", () => {
    const e = new DecodeError("ipv4", "bad-checksum", 10);
    expect(e).not.toBeInstanceOf(Error);
    expect(String(e)).toBe("ipv4: bad-checksum at 10");
    expect(String(new DecodeError("tcp", "bad-option", 22, "mss length 3"))).toBe(
      "tcp: bad-option at 22 (mss length 3)",
    );
  });
});
