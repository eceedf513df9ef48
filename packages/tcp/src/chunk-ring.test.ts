import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChunkPools } from "./chunk-pool.js";
import { ReceiveBuffer } from "./receive-buffer.js";
import { SendBuffer } from "./send-buffer.js";

// The rings against a model, with a capacity of several 16 KiB chunks so that data, segment views
// and the storage given back cross chunk boundaries and the ring's wrap. Byte i of the stream is
// i & 0xff, so the model is just the stream offsets [lo, hi) the ring holds.

/** Index of the first byte of `parts` (read in order) that is not stream byte `from + i`, or -1. */
function mismatch(from: number, ...parts: Uint8Array[]): number {
  let i = 0;
  for (const p of parts) for (let j = 0; j < p.length; j++, i++) if (p[j] !== ((from + i) & 0xff)) return i;
  return -1;
}

function stream(from: number, n: number, pad = 0): Uint8Array {
  return Uint8Array.from({ length: n + 2 * pad }, (_, i) => (from + i - pad) & 0xff);
}

const CHUNK = 16384;

describe("rings over chunked storage", () => {
  it("SendBuffer: writes, segment views and acknowledgments match the stream; storage follows the queued bytes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 30000 }), fc.integer({ min: 0, max: 30000 })), {
          minLength: 1,
          maxLength: 40,
        }),
        (ops) => {
          const pools = new ChunkPools(1 << 20);
          const sb = new SendBuffer(50000, 1460, pools);
          let lo = 0;
          let hi = 0;
          for (const [w, a] of ops) {
            const n = sb.write(stream(hi, w));
            expect(n).toBe(Math.min(w, 50000 - (hi - lo)));
            hi += n;
            // Segment-sized reads at a few offsets, each one or two views.
            for (const off of [0, (hi - lo) >>> 1, Math.max(0, hi - lo - 1460)]) {
              const len = Math.min(1460, hi - lo - off);
              if (len <= 0) continue;
              const first = sb.first(off, len);
              const second = first.length < len ? sb.second(off, first.length, len) : new Uint8Array(0);
              expect(first.length + second.length).toBe(len);
              expect(mismatch(lo + off, first, second)).toBe(-1);
            }
            const k = Math.min(a, hi - lo);
            sb.consume(k);
            lo += k;
            expect(sb.length).toBe(hi - lo);
            // Storage: the chunks the queued bytes touch, no more (none when empty).
            expect(sb.heldBytes).toBeLessThanOrEqual((Math.ceil((hi - lo) / CHUNK) + 1) * CHUNK);
            if (hi === lo) expect(sb.heldBytes).toBe(0);
            expect(pools.heldBytes).toBe(sb.heldBytes);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("ReceiveBuffer: in-order stores and reads of any sizes match the stream; storage follows the unread bytes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20000 }), fc.integer({ min: 0, max: 30000 })), {
          minLength: 1,
          maxLength: 40,
        }),
        (ops) => {
          const pools = new ChunkPools(0);
          const rb = new ReceiveBuffer(50000, 8, pools);
          let nxt = 0xfffff000; // across the 2^32 wrap too
          let lo = 0;
          let hi = 0;
          for (const [s, r] of ops) {
            const n = Math.min(s, rb.space);
            // The segment's bytes sit inside a larger buffer, as a payload does in a frame.
            nxt = rb.store(nxt, nxt, stream(hi, n, 5), 5, 5 + n) >>> 0;
            hi += n;
            const out = new Uint8Array(r);
            const got = rb.read(out);
            expect(got).toBe(Math.min(r, hi - lo));
            expect(mismatch(lo, out.subarray(0, got))).toBe(-1);
            lo += got;
            expect(rb.readable).toBe(hi - lo);
            expect(rb.heldBytes).toBeLessThanOrEqual((Math.ceil((hi - lo) / CHUNK) + 1) * CHUNK);
            if (hi === lo) expect(rb.heldBytes).toBe(0);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
