import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TcpSegmentOut, writeTcpSegment } from "./segment-out.js";
import { type TcpOption, tcpOptionLength } from "./tcp-option.js";
import { encodeTcp } from "./tcp-segment.js";

const optionArb: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant({ kind: 1 } as TcpOption),
  fc.integer({ min: 0, max: 0xffff }).map((mss) => ({ kind: 2, mss }) as TcpOption),
  fc.integer({ min: 0, max: 14 }).map((shift) => ({ kind: 3, shift }) as TcpOption),
  fc.constant({ kind: 4 } as TcpOption),
  fc
    .array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 3 })
    .map((xs) => ({ kind: 5, blocks: xs.flatMap((x) => [x, (x + 100) >>> 0]) }) as TcpOption),
  fc
    .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }))
    .map(([tsVal, tsEcr]) => ({ kind: 8, tsVal, tsEcr }) as TcpOption),
);

describe("writeTcpSegment", () => {
  it("writes the same bytes as encodeTcp, checksum included, whatever the options, payload split and offset", () => {
    fc.assert(
      fc.property(
        fc.record({
          sourcePort: fc.integer({ min: 0, max: 0xffff }),
          destinationPort: fc.integer({ min: 0, max: 0xffff }),
          seq: fc.integer({ min: 0, max: 0xffffffff }),
          ack: fc.integer({ min: 0, max: 0xffffffff }),
          flags: fc.integer({ min: 0, max: 0xff }),
          window: fc.integer({ min: 0, max: 0xffff }),
          urgentPointer: fc.integer({ min: 0, max: 0xffff }),
        }),
        fc.array(optionArb, { maxLength: 5 }).filter((o) => o.length === 0 || fitsIn40(o)),
        fc.uint8Array({ maxLength: 2000 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        fc.boolean(),
        (fields, options, payload, split, at, checksum) => {
          const s = new TcpSegmentOut();
          s.localAddress = 0x0a000001;
          s.remoteAddress = 0xc0a80102;
          Object.assign(s.header, fields);
          s.header.options = options;
          const cut = payload.length === 0 ? 0 : split % payload.length;
          s.payload = payload.subarray(0, cut);
          s.payload2 = payload.subarray(cut);
          const out = new Uint8Array(at + 2100).fill(0xa5);
          const end = writeTcpSegment(s, out, at, checksum);
          const want = checksum
            ? encodeTcp({ ...fields, options }, payload, undefined, 0, s.localAddress, s.remoteAddress)
            : encodeTcp({ ...fields, options }, payload);
          expect(end - at).toBe(want.length);
          expect(s.length).toBe(want.length);
          expect(out.subarray(at, end)).toEqual(want);
          expect(out[at - 1] ?? 0xa5).toBe(0xa5);
          expect(out[end]).toBe(0xa5);
          // The list reads back as it was set (the engine's layouts need no end-of-list padding).
          if (fitsExactly(options)) expect(s.header.options).toEqual(options);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("refuses options over 40 bytes with a RangeError naming the size", () => {
    const s = new TcpSegmentOut();
    const ts: TcpOption = { kind: 8, tsVal: 1, tsEcr: 2 };
    expect(() => {
      s.header.options = [ts, ts, ts, ts, ts];
    }).toThrow(/52 bytes, at most 40/);
  });
});

function rawLength(o: readonly TcpOption[]): number {
  let n = 0;
  for (const x of o) n += tcpOptionLength(x);
  return n;
}
function fitsIn40(o: readonly TcpOption[]): boolean {
  return ((rawLength(o) + 3) & ~3) <= 40;
}
function fitsExactly(o: readonly TcpOption[]): boolean {
  return rawLength(o) % 4 === 0;
}
