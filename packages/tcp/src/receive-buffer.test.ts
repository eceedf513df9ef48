import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ReceiveBuffer } from "./receive-buffer.js";
import { SendBuffer } from "./send-buffer.js";

describe("ReceiveBuffer", () => {
  it("reassembles segments arriving in any order, across the ring's wrap and the 2^32 wrap", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.infiniteStream(fc.nat()),
        (isn, sizes, preRead, order) => {
          const rb = new ReceiveBuffer(4096, 64);
          // Shift the ring's head first so that data wraps around the end.
          let nxt = isn;
          const pre = new Uint8Array(Math.min(preRead, 4000));
          nxt = rb.store(nxt, nxt, pre) >>> 0;
          rb.read(new Uint8Array(pre.length));
          // Cut the stream into segments and deliver them shuffled, some twice.
          const total = sizes.reduce((a, b) => a + b, 0);
          if (total > 4096) return true;
          const data = Uint8Array.from({ length: total }, (_, i) => (i * 31 + 7) & 0xff);
          const segs: [number, number][] = [];
          let off = 0;
          for (const s of sizes) {
            segs.push([off, s]);
            off += s;
          }
          const it = order[Symbol.iterator]();
          const shuffled = [...segs, ...segs.slice(0, 3)].sort(() => ((it.next().value as number) % 3) - 1);
          const start = nxt;
          for (const [o, n] of shuffled) {
            const seq = (start + o) >>> 0;
            const rel = (seq - nxt) | 0;
            if (rel + n <= 0) continue; // entirely old
            const from = Math.max(0, -rel);
            const r = rb.store(nxt, (seq + from) >>> 0, data.subarray(o + from, o + n));
            expect(r).not.toBe(-1);
            nxt = r >>> 0;
          }
          expect((nxt - start) >>> 0).toBe(total);
          expect(rb.rangeCount).toBe(0);
          const out = new Uint8Array(total);
          expect(rb.read(out)).toBe(total);
          expect(out).toEqual(data);
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps at most maxRanges out-of-order ranges and refuses one more", () => {
    const rb = new ReceiveBuffer(4096, 2);
    expect(rb.store(0, 10, new Uint8Array(5))).toBe(0);
    expect(rb.store(0, 30, new Uint8Array(5))).toBe(0);
    expect(rb.store(0, 50, new Uint8Array(5))).toBe(-1);
    // Merging into an existing range is still fine.
    expect(rb.store(0, 15, new Uint8Array(5))).toBe(0);
    expect([rb.lefts[0], rb.rights[0], rb.lefts[1], rb.rights[1]]).toEqual([10, 20, 30, 35]);
    expect(rb.latestRange).toBe(0);
    expect(rb.outOfOrderBytes).toBe(15);
    // Filling the gap makes everything up to the first gap readable.
    expect(rb.store(0, 0, new Uint8Array(10))).toBe(20);
    expect(rb.readable).toBe(20);
    expect(rb.rangeCount).toBe(1);
  });

  it("peek/skip reads without copying", () => {
    const rb = new ReceiveBuffer(16, 4);
    rb.store(0, 0, Uint8Array.of(1, 2, 3));
    expect([...rb.peek()]).toEqual([1, 2, 3]);
    rb.skip(2);
    expect([...rb.peek()]).toEqual([3]);
  });
});

describe("SendBuffer", () => {
  it("gives segments as one or two views across the ring's end", () => {
    const sb = new SendBuffer(8);
    expect(sb.write(Uint8Array.of(1, 2, 3, 4, 5, 6))).toBe(6);
    sb.consume(5);
    expect(sb.write(Uint8Array.of(7, 8, 9, 10, 11, 12, 13, 14))).toBe(7);
    expect(sb.free).toBe(0);
    const first = sb.first(0, 6);
    const second = sb.second(first.length, 6);
    expect([...first, ...second]).toEqual([6, 7, 8, 9, 10, 11]);
    expect(first.buffer).toBe(sb.bytes.buffer); // views, not copies
  });
});
