import { decodePcap } from "@userstack/pcap";
import { readFixture } from "@userstack/testkit";
import { DecodeError, fromHex, u16, u32 } from "@userstack/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  foldSum,
  internetChecksum,
  jsSum,
  onesComplementSum,
  pseudoHeaderSum,
  sumWithPseudoHeader,
  updateChecksum,
  updateChecksum32,
} from "./checksum.js";
import { checksumWasmBytes, wasmSummer } from "./checksum-wasm.js";

/** The textbook RFC 1071 loop, as the reference. */
function reference(b: Uint8Array, initial = 0): number {
  let sum = initial;
  // Folding after every word keeps the sum exact for any length (a 32-bit fold at the end would not).
  for (let i = 0; i < b.length; i += 2) {
    sum += (b[i]! << 8) | (b[i + 1] ?? 0);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

describe("internet checksum (RFC 1071)", () => {
  it("matches the RFC 1071 §3 example", () => {
    // 00 01 f2 03 f4 f5 f6 f7: the sum is ddf2, so the checksum is 220d.
    const b = fromHex("0001f203f4f5f6f7");
    expect(onesComplementSum(b)).toBe(0xddf2);
    expect(internetChecksum(b)).toBe(0x220d);
  });

  it("checks a real IPv4 header from the kernel to zero", () => {
    // 10.9.0.1 -> 10.9.0.2 ICMP echo, as captured (checksum field included).
    const h = fromHex("4500 0054 61f1 4000 4001 c4a3 0a09 0001 0a09 0002");
    expect(internetChecksum(h)).toBe(0);
  });

  it("pads an odd last byte with zero", () => {
    expect(onesComplementSum(fromHex("0102 03"))).toBe(0x0402);
  });

  it("agrees with the reference on any bytes, offset and alignment", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 0xffff }),
        (data, shift, initial) => {
          // Place the data at every alignment inside a larger buffer.
          const big = new Uint8Array(data.length + 16).fill(0x5a);
          big.set(data, shift);
          const view = big.subarray(shift, shift + data.length);
          expect(onesComplementSum(view, 0, view.length, initial)).toBe(reference(data, initial));
          expect(onesComplementSum(big, shift, shift + data.length, initial)).toBe(reference(data, initial));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("agrees with the reference over large buffers with every carry (folds inside the word loop)", () => {
    for (const n of [64, 65, 32768, 32769, 100_003, 1 << 20]) {
      for (const fill of [0xff, 0x5a]) {
        const big = new Uint8Array(n + 3).fill(fill);
        for (let i = 0; i < big.length; i += 97) big[i] = i & 0xff;
        for (const shift of [0, 1, 2, 3]) {
          const v = big.subarray(shift, shift + n);
          expect(onesComplementSum(v), `${n} bytes at +${shift}`).toBe(reference(v.slice()));
        }
      }
    }
  });

  it("sums correctly when called on different buffers in turn (the reused word view)", () => {
    const a = Uint8Array.from({ length: 200 }, (_, i) => i);
    const b = Uint8Array.from({ length: 200 }, (_, i) => 255 - i);
    const small = new Uint8Array(new ArrayBuffer(64), 0, 64).fill(1);
    const large = new Uint8Array(4096).fill(2);
    for (let round = 0; round < 3; round++) {
      expect(onesComplementSum(a)).toBe(reference(a));
      expect(onesComplementSum(b, 4, 180)).toBe(reference(b.subarray(4, 180)));
      expect(onesComplementSum(small)).toBe(reference(small));
      expect(onesComplementSum(large, 1, 4000)).toBe(reference(large.subarray(1, 4000)));
    }
  });

  it("chains partial sums over even-offset parts", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 600 }), fc.nat(), (data, cut) => {
        const at = (cut % data.length) & ~1;
        const chained = onesComplementSum(data, at, data.length, onesComplementSum(data, 0, at));
        return chained === reference(data);
      }),
    );
  });

  it("folds wide sums with every carry", () => {
    expect(foldSum(0x1fffe)).toBe(0xffff);
    expect(foldSum(0xffff * 0x10001)).toBe(0xffff);
    expect(foldSum(0)).toBe(0);
  });
});

describe("pseudo-header", () => {
  it("sums addresses, protocol and length", () => {
    // 10.9.0.1, 10.9.0.2, TCP, 40 bytes: 0a09+0001+0a09+0002+0006+0028
    expect(pseudoHeaderSum(0x0a090001, 0x0a090002, 6, 40)).toBe(0x0a09 + 1 + 0x0a09 + 2 + 6 + 40);
    expect(pseudoHeaderSum(0xffffffff, 0xffffffff, 17, 0xffff)).toBe(
      reference(fromHex("ffffffffffffffff0011ffff")),
    );
  });
});

describe("sumWithPseudoHeader", () => {
  it("verifies every TCP segment the Linux kernel sent, in place in its frame (tcp-session.pcap)", () => {
    const file = decodePcap(readFixture("tcp-session.pcap"));
    if (file instanceof DecodeError) throw new Error(String(file));
    expect(file.records.length).toBe(10);
    for (const { data: frame } of file.records) {
      // Untagged Ethernet, 20-byte IPv4 header: the segment is frame[34 .. 14 + total length).
      const end = 14 + u16(frame, 16);
      const [src, dst] = [u32(frame, 26), u32(frame, 30)];
      expect([src, dst]).toContainEqual(0x0a090001);
      expect(sumWithPseudoHeader(frame, 34, end, src, dst, 6)).toBe(0xffff);
      const bad = frame.slice();
      bad[38] ^= 0x80; // one bit of the sequence number
      expect(sumWithPseudoHeader(bad, 34, end, src, dst, 6)).not.toBe(0xffff);
      expect(sumWithPseudoHeader(frame, 34, end, src, dst, 17)).not.toBe(0xffff); // not UDP's
    }
  });

  it("equals the pseudo-header sum chained with the segment's, for any range, length and address", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 1600 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.constantFrom(6, 17, 255),
        (data, a, b, src, dst, proto) => {
          // Both paths of the summer: a range that is most of its buffer (copied whole into
          // WebAssembly memory) and one that is a small part of a large buffer (copied alone).
          const start = data.length === 0 ? 0 : (a % (data.length + 1)) & ~1;
          const end = start + (b % (data.length - start + 1));
          const expected = reference(
            data.subarray(start, end),
            reference(
              fromHex(
                [src >>> 16, src & 0xffff, dst >>> 16, dst & 0xffff, proto, end - start]
                  .map((w) => w.toString(16).padStart(4, "0"))
                  .join(""),
              ),
            ),
          );
          expect(sumWithPseudoHeader(data, start, end, src, dst, proto)).toBe(expected);
          expect(onesComplementSum(data, start, end, pseudoHeaderSum(src, dst, proto, end - start))).toBe(
            expected,
          );
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("incremental update (RFC 1624)", () => {
  it("equals a full recomputation after a 16-bit field changes", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 20, maxLength: 60 }),
        fc.nat(),
        fc.integer({ min: 0, max: 0xffff }),
        (data, pos, word) => {
          const b = data.slice(0, data.length & ~1);
          const at = (pos % (b.length / 2)) * 2;
          const before = internetChecksum(b);
          const old = (b[at]! << 8) | b[at + 1]!;
          b[at] = word >>> 8;
          b[at + 1] = word & 0xff;
          const after = internetChecksum(b);
          const inc = updateChecksum(before, old, word);
          // RFC 1624: both forms of zero (0x0000/0xffff) are the same one's complement number.
          return inc === after || (inc ^ after) === 0xffff;
        },
      ),
    );
  });

  it("updates for a 32-bit address change (the RFC 1624 §4 TTL-style case)", () => {
    const b = fromHex("45000054 18e44000 40010000 0a090001 0a090002");
    const before = internetChecksum(b);
    b.set(fromHex("c0a80001"), 12);
    expect(updateChecksum32(before, 0x0a090001, 0xc0a80001)).toBe(internetChecksum(b));
  });
});

describe("the two summing paths", () => {
  it("JavaScript and WebAssembly agree with the reference on long buffers at every alignment", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 256, maxLength: 9000 }),
        fc.integer({ min: 0, max: 7 }),
        (data, shift) => {
          const big = new Uint8Array(data.length + 8);
          big.set(data, shift);
          const ref = reference(data);
          expect(jsSum(big, shift, shift + data.length)).toBe(ref);
          expect(onesComplementSum(big, shift, shift + data.length)).toBe(ref);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("agree on a short range inside a long buffer and on a range that is nearly all of it", () => {
    // The summer copies a whole buffer when the range is most of it (no view per call), and only
    // the range otherwise: both must sum exactly the range, whatever lies around it.
    const big = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 131 + 7) & 0xff);
    for (const [start, end] of [
      [1000, 1000 + 1460],
      [65_536 - 300, 65_536 + 300],
      [2, 69_998],
      [0, 256],
    ] as const) {
      const ref = reference(big.slice(start, end));
      expect(onesComplementSum(big, start, end), `${start}..${end}`).toBe(ref);
      expect(jsSum(big, start, end), `${start}..${end}`).toBe(ref);
    }
    const frame = big.subarray(5000, 5000 + 1514);
    expect(onesComplementSum(frame, 34, 1514)).toBe(reference(frame.slice(34)));
    expect(onesComplementSum(frame, 1, 1513)).toBe(reference(frame.slice(1, 1513)));
    const odd = big.subarray(3, 3 + 300);
    expect(onesComplementSum(odd)).toBe(reference(odd.slice()));
    expect(onesComplementSum(odd, 2, 298)).toBe(reference(odd.slice(2, 298)));
  });

  it("the word loop's reused view follows the array it is given (same array, new array, same buffer)", () => {
    const buffer = new ArrayBuffer(4096);
    const a = new Uint8Array(buffer, 0, 2048).fill(3);
    const b = new Uint8Array(buffer, 2048, 2048).fill(9);
    const small = new Uint8Array(1024).fill(7);
    for (let round = 0; round < 3; round++) {
      expect(jsSum(a)).toBe(reference(a.slice()));
      expect(jsSum(a, 2, 2000)).toBe(reference(a.slice(2, 2000)));
      expect(jsSum(b, 1)).toBe(reference(b.slice(1)));
      expect(jsSum(small)).toBe(reference(small.slice()));
      a[round * 4] = round; // the view reads the bytes as they are now
    }
  });

  it("uses WebAssembly SIMD on Node 20 (the fast path is not silently off)", () => {
    expect(wasmSummer).toBeDefined();
  });

  it("ships the bytes checksum.wat compiles to", async () => {
    // @ts-expect-error: a plain .mjs script without types
    const { compileChecksumWat } = await import("../../../scripts/build-checksum-wasm.mjs");
    const compiled = Buffer.from(await compileChecksumWat(), "base64");
    expect(Buffer.from(checksumWasmBytes()).equals(compiled)).toBe(true);
  });
});
