import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CHITCP_HEADER_LENGTH, ChitcpProtocol, encodeHello, writeChitcpHeader } from "./chitcp-header.js";
import { FrameReader } from "./frame-reader.js";

function frameOf(payload: Uint8Array, protocol: number = ChitcpProtocol.Tcp): Uint8Array {
  const f = new Uint8Array(CHITCP_HEADER_LENGTH + payload.length);
  writeChitcpHeader(f, 0, payload.length, protocol);
  f.set(payload, CHITCP_HEADER_LENGTH);
  return f;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe("chiTCP header", () => {
  it("matches chiTCP's layout: length BE, protocol 1, flags 0, 12 zero bytes", () => {
    const f = frameOf(Uint8Array.of(0xaa, 0xbb, 0xcc), ChitcpProtocol.Tcp);
    expect(Array.from(f)).toEqual([0, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xaa, 0xbb, 0xcc]);
    const h = new Uint8Array(20).fill(0xa5);
    expect(encodeHello(h, 0, 23301)).toBe(20);
    expect(Array.from(h.subarray(0, 20))).toEqual([
      0, 4, 0x75, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x5b, 0x05,
    ]);
  });
});

describe("FrameReader", () => {
  it("gives back the same frames however the stream is cut", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
        (payloads, cuts) => {
          const stream = concat(payloads.map((p) => frameOf(p)));
          const r = new FrameReader(1000, false);
          const got: number[][] = [];
          let at = 0;
          let i = 0;
          while (at < stream.length) {
            const n = cuts[i++ % cuts.length]!;
            const fault = r.push(stream.subarray(at, at + n), (proto, p) => {
              expect(proto).toBe(1);
              got.push(Array.from(p));
            });
            expect(fault).toBeUndefined();
            at += n;
          }
          expect(got).toEqual(payloads.map((p) => Array.from(p)));
          expect(r.pending).toBe(0);
        },
      ),
    );
  });

  it("hands whole frames on as views of the chunk, without copying", () => {
    const chunk = concat([frameOf(Uint8Array.of(1, 2)), frameOf(Uint8Array.of(3))]);
    const seen: Uint8Array[] = [];
    new FrameReader(1000, false).push(chunk, (_, p) => seen.push(p));
    expect(seen.map((p) => p.buffer === chunk.buffer)).toEqual([true, true]);
  });

  it("refuses an unknown protocol, non-zero reserved bytes and an oversize length, and stays refused", () => {
    const wrong = frameOf(Uint8Array.of(1), 9);
    expect(new FrameReader(1000, false).push(wrong, () => {})).toBe("bad-protocol");
    const hello = new Uint8Array(20);
    encodeHello(hello, 0, 1);
    expect(new FrameReader(1000, false).push(hello, () => {})).toBe("bad-protocol"); // chiTCP mode
    expect(new FrameReader(1000, true).push(hello, () => {})).toBeUndefined();
    const reserved = frameOf(Uint8Array.of(1));
    reserved[9] = 1;
    expect(new FrameReader(1000, false).push(reserved, () => {})).toBe("bad-header");
    const big = new Uint8Array(16);
    writeChitcpHeader(big, 0, 1001, 1);
    const r = new FrameReader(1000, false);
    // The header arrives in two pieces: it is checked once whole.
    expect(r.push(big.subarray(0, 5), () => {})).toBeUndefined();
    expect(r.push(big.subarray(5), () => {})).toBe("oversize");
    expect(r.push(frameOf(Uint8Array.of(1)), () => {})).toBe("oversize");
  });

  it("delivers frames before a bad one and reports a stream cut mid-frame", () => {
    const r = new FrameReader(1000, false);
    const got: number[] = [];
    const good = frameOf(Uint8Array.of(7));
    expect(r.push(concat([good, frameOf(Uint8Array.of(8), 3)]), (_, p) => got.push(p[0]!))).toBe(
      "bad-protocol",
    );
    expect(got).toEqual([7]);
    const cut = new FrameReader(1000, false);
    cut.push(frameOf(new Uint8Array(100)).subarray(0, 50), () => {});
    expect(cut.pending).toBe(50);
  });

  it("holds memory in proportion to the frame being gathered, not the largest allowed", () => {
    const r = new FrameReader(65515, false);
    expect(r.capacity).toBe(16);
    r.push(Uint8Array.of(0, 100, 1), () => {}); // three bytes of a header
    expect(r.capacity).toBe(16);
    r.push(new Uint8Array(13 + 50), () => {}); // the rest of the header and half the payload
    expect(r.capacity).toBe(116);
    let got = 0;
    r.push(new Uint8Array(50), () => got++);
    expect(got).toBe(1);
    expect(r.pending).toBe(0);
  });
});
