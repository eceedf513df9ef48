import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChunkPools } from "./chunk-pool.js";
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
          const rb = new ReceiveBuffer(4096, 64, new ChunkPools(0));
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
    const rb = new ReceiveBuffer(4096, 2, new ChunkPools(0));
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
    const rb = new ReceiveBuffer(16, 4, new ChunkPools(0));
    rb.store(0, 0, Uint8Array.of(1, 2, 3));
    expect([...rb.peek()]).toEqual([1, 2, 3]);
    rb.skip(2);
    expect([...rb.peek()]).toEqual([3]);
  });
});

describe("SendBuffer", () => {
  it("gives segments as one or two views across a storage chunk's end", () => {
    const pools = new ChunkPools(0);
    const sb = new SendBuffer(64, 64, pools); // 64-byte chunks, two of them
    expect(sb.write(Uint8Array.from({ length: 60 }, (_, i) => i))).toBe(60);
    sb.consume(50);
    expect(sb.write(Uint8Array.from({ length: 100 }, (_, i) => 60 + i))).toBe(54);
    expect(sb.free).toBe(0);
    const first = sb.first(0, 30);
    const second = sb.second(0, first.length, 30);
    expect(first.length).toBe(14);
    expect([...first, ...second]).toEqual(Array.from({ length: 30 }, (_, i) => 50 + i));
    expect(first.byteOffset).toBe(50); // views, not copies
  });

  it("holds storage only for queued bytes and gives it back as they are acknowledged", () => {
    const pools = new ChunkPools(1 << 20);
    const sb = new SendBuffer(256 * 1024, 1460, pools);
    expect(sb.heldBytes).toBe(0);
    expect(sb.write(new Uint8Array(2000))).toBe(2000);
    expect(sb.heldBytes).toBe(16384);
    sb.consume(1000);
    expect(sb.write(new Uint8Array(300 * 1024))).toBe(256 * 1024 - 1000);
    expect(sb.heldBytes).toBe(17 * 16384); // 256 KiB spans 17 chunks when it starts mid-chunk
    sb.consume(40000); // the head passes chunks 0 and 1
    expect(sb.heldBytes).toBe(15 * 16384);
    sb.consume(sb.length);
    expect(sb.heldBytes).toBe(0);
    expect(pools.heldBytes).toBe(0);
    expect(pools.pooledBytes).toBe(17 * 16384); // kept for reuse
    expect(sb.write(new Uint8Array(20000))).toBe(20000);
    expect(pools.pooledBytes).toBe(15 * 16384); // two chunks reused, none allocated
  });
});

describe("ReceiveBuffer storage", () => {
  it("takes storage where data lands (in order or not) and gives it back as it is read", () => {
    const pools = new ChunkPools(0);
    const rb = new ReceiveBuffer(256 * 1024, 64, pools);
    expect(rb.heldBytes).toBe(0);
    // Out of order, 100 KiB ahead: only the chunk it lands in.
    expect(rb.store(0, 100 * 1024, new Uint8Array(1000))).toBe(0);
    expect(rb.heldBytes).toBe(16384);
    expect(rb.store(0, 0, new Uint8Array(40000))).toBe(40000);
    expect(rb.heldBytes).toBe(4 * 16384);
    const out = new Uint8Array(40000);
    expect(rb.read(out)).toBe(40000);
    expect(rb.heldBytes).toBe(2 * 16384); // the chunk at the head and the out-of-order one
    // Filling the gap joins the out-of-order range.
    expect(rb.store(40000, 40000, new Uint8Array(100 * 1024 - 40000))).toBe(100 * 1024 + 1000);
    expect(rb.read(new Uint8Array(200 * 1024))).toBe(100 * 1024 + 1000 - 40000);
    expect(rb.heldBytes).toBe(0);
    expect(pools.heldBytes).toBe(0);
  });
});
