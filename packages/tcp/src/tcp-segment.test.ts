import { decodeEthernet, type EthernetView } from "@userstack/ethernet";
import { decodePcap } from "@userstack/pcap";
import { readFixture } from "@userstack/testkit";
import { DecodeError, fromHex, toHex, u16, u32 } from "@userstack/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeTcp,
  decodeTcpAt,
  encodeTcp,
  TcpFlag,
  type TcpHeader,
  type TcpOption,
  TcpSegmentOut,
  TcpView,
  tcpChecksum,
  tcpHeaderLength,
  verifyTcpChecksum,
  writeTcpChecksum,
  writeTcpHeader,
  writeTcpOptions,
} from "./index.js";

interface Captured {
  tcp: Uint8Array;
  source: number;
  destination: number;
}

/** The TCP segments of a fixture, cut at the IPv4 total length. */
function segments(name: string): Captured[] {
  const f = decodePcap(readFixture(name));
  if (f instanceof DecodeError) throw new Error(String(f));
  return f.records.map((r) => {
    const ip = (decodeEthernet(r.data) as EthernetView).payload;
    const ihl = (ip[0]! & 15) * 4;
    return { tcp: ip.subarray(ihl, u16(ip, 2)), source: u32(ip, 12), destination: u32(ip, 16) };
  });
}

function view(c: Captured): TcpView {
  const v = decodeTcp(c.tcp, c.source, c.destination);
  if (v instanceof DecodeError) throw new Error(String(v));
  return v;
}

function header(v: TcpView): TcpHeader {
  return {
    sourcePort: v.sourcePort,
    destinationPort: v.destinationPort,
    seq: v.seq,
    ack: v.ack,
    flags: v.flags,
    window: v.window,
    urgentPointer: v.urgentPointer,
    options: v.options,
  };
}

const IP1 = 0x0a090001; // 10.9.0.1
const IP2 = 0x0a090002; // 10.9.0.2

describe("decodeTcp on segments the Linux kernel sent (tcp-session.pcap)", () => {
  const s = segments("tcp-session.pcap");

  it("reads the SYN: every field and option as tshark shows them", () => {
    const v = view(s[0]!);
    expect(s[0]!.source).toBe(IP1);
    expect(v.sourcePort).toBe(52546);
    expect(v.destinationPort).toBe(7777);
    expect(v.seq).toBe(2331430030);
    expect(v.ack).toBe(0);
    expect(v.flags).toBe(TcpFlag.SYN);
    expect([v.syn, v.ackFlag, v.fin, v.rst, v.psh, v.urg, v.ece, v.cwr]).toEqual([
      true,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(v.window).toBe(64240);
    expect(v.checksum).toBe(0x915f);
    expect(v.dataOffset).toBe(10);
    expect(v.headerLength).toBe(40);
    expect(v.reserved).toBe(0);
    expect(v.urgentPointer).toBe(0);
    expect(v.mss).toBe(1460);
    expect(v.sackPermitted).toBe(true);
    expect(v.windowScale).toBe(10);
    expect(v.hasTimestamps).toBe(true);
    expect(v.tsVal).toBe(4234897411);
    expect(v.tsEcr).toBe(0);
    expect(v.sackCount).toBe(0);
    expect(v.hasUnknownOptions).toBe(false);
    expect(v.payloadLength).toBe(0);
    expect(v.segmentLength).toBe(1);
    // Linux's SYN option order: MSS, SACK-permitted, timestamps, NOP, window scale.
    expect(v.options).toEqual([
      { kind: 2, mss: 1460 },
      { kind: 4 },
      { kind: 8, tsVal: 4234897411, tsEcr: 0 },
      { kind: 1 },
      { kind: 3, shift: 10 },
    ]);
  });

  it("reads the SYN-ACK", () => {
    const v = view(s[1]!);
    expect([v.sourcePort, v.destinationPort, v.seq, v.ack, v.flags, v.window]).toEqual([
      7777,
      52546,
      903894229,
      2331430031,
      TcpFlag.SYN | TcpFlag.ACK,
      65160,
    ]);
    expect([v.mss, v.windowScale, v.sackPermitted, v.tsVal, v.tsEcr]).toEqual([
      1460,
      10,
      true,
      599742831,
      4234897411,
    ]);
    expect(v.checksum).toBe(0x85d2);
  });

  it("reads the data segment with its 13-byte payload", () => {
    const v = view(s[3]!);
    expect(v.flags).toBe(TcpFlag.PSH | TcpFlag.ACK);
    expect([v.seq, v.ack, v.window, v.headerLength, v.payloadLength]).toEqual([
      903894230, 2331430031, 64, 32, 13,
    ]);
    expect(v.options).toEqual([{ kind: 1 }, { kind: 1 }, { kind: 8, tsVal: 599742831, tsEcr: 4234897411 }]);
    expect([v.mss, v.windowScale, v.sackPermitted]).toEqual([-1, -1, false]);
    expect(v.payload.length).toBe(13);
    expect(v.segmentLength).toBe(13);
  });

  it("reads the FINs and ACKs of the close", () => {
    const fin = view(s[5]!);
    expect(fin.flags).toBe(TcpFlag.FIN | TcpFlag.ACK);
    expect(fin.segmentLength).toBe(1);
    expect(fin.seq).toBe(903894243);
    const last = view(s[9]!);
    expect([last.flags, last.seq, last.ack, last.checksum]).toEqual([
      TcpFlag.ACK,
      903894244,
      2331430063,
      0xb2bc,
    ]);
  });

  it("verifies every captured checksum and recomputes it", () => {
    for (const c of s) {
      expect(verifyTcpChecksum(c.tcp, c.source, c.destination)).toBe(true);
      expect(tcpChecksum(c.tcp, c.source, c.destination)).toBe(u16(c.tcp, 16));
    }
  });

  it("re-encodes every segment byte for byte, checksum included", () => {
    for (const c of s) {
      const v = view(c);
      const out = new Uint8Array(c.tcp.length + 4).fill(0xa5);
      const seg = encodeTcp(header(v), v.payload, out, 2, c.source, c.destination);
      expect(toHex(seg)).toBe(toHex(c.tcp));
      expect(out[0]).toBe(0xa5);
      expect(out[out.length - 1]).toBe(0xa5);
    }
  });
});

describe("decodeTcp on the RST a closed Linux port sent (tcp-rst.pcap)", () => {
  const s = segments("tcp-rst.pcap");
  it("reads SYN then RST|ACK with seq 0 and ack ISN+1 (RFC 9293 §3.10.7.1)", () => {
    const syn = view(s[0]!);
    const rst = view(s[1]!);
    expect(syn.seq).toBe(1674314007);
    expect([rst.flags, rst.seq, rst.ack, rst.window, rst.headerLength]).toEqual([
      TcpFlag.RST | TcpFlag.ACK,
      0,
      1674314008,
      0,
      20,
    ]);
    expect(rst.rst && rst.ackFlag).toBe(true);
    expect(rst.options).toEqual([]);
    expect(rst.checksum).toBe(0x2f21);
    for (const c of s) {
      const v = view(c);
      expect(toHex(encodeTcp(header(v), v.payload, undefined, 0, c.source, c.destination))).toBe(
        toHex(c.tcp),
      );
    }
  });
});

describe("options", () => {
  it("writes SACK blocks, unknown options, and pads with zeros", () => {
    const h: TcpHeader = {
      sourcePort: 1,
      destinationPort: 2,
      seq: 3,
      ack: 4,
      flags: TcpFlag.ACK | TcpFlag.ECE | TcpFlag.CWR,
      window: 5,
      options: [
        { kind: 1 },
        { kind: 1 },
        { kind: 5, blocks: [0x10, 0x20, 0xfffffff0, 0x5] },
        { kind: 30, data: fromHex("beefcc") },
      ],
    };
    expect(tcpHeaderLength(h)).toBe(20 + 28);
    const seg = encodeTcp(h);
    expect(toHex(seg.subarray(20))).toBe(
      "0101" + "0512" + "00000010" + "00000020" + "fffffff0" + "00000005" + "1e05beefcc" + "000000",
    );
    const v = decodeTcp(seg) as TcpView;
    expect(v.sackCount).toBe(2);
    expect([v.sackLeft(0), v.sackRight(0), v.sackLeft(1), v.sackRight(1)]).toEqual([
      0x10, 0x20, 0xfffffff0, 5,
    ]);
    expect(v.hasUnknownOptions).toBe(true);
    expect(v.ece && v.cwr).toBe(true);
    expect(v.options).toEqual([...h.options!, { kind: 0 }]);
  });

  it("stops at EOL and ignores what follows", () => {
    const seg = fromHex("0001000200000003000000046010000500000000" + "00ffffff");
    const v = decodeTcp(seg) as TcpView;
    expect(v).toBeInstanceOf(TcpView);
    expect(v.options).toEqual([{ kind: 0 }]);
  });

  it("refuses options longer than 40 bytes when building", () => {
    const h: TcpHeader = {
      sourcePort: 1,
      destinationPort: 2,
      seq: 0,
      ack: 0,
      flags: 0,
      window: 0,
      options: [{ kind: 5, blocks: new Array(10).fill(1) }],
    };
    expect(() => writeTcpHeader(h, new Uint8Array(80))).toThrow(RangeError);
  });
});

describe("malformed segments return a DecodeError", () => {
  const base = "0001000200000003000000045010000500000000";
  const withOpts = (opts: string): Uint8Array => {
    const b = fromHex(base + opts);
    b[12] = ((20 + opts.length / 2) / 4) << 4;
    return b;
  };
  const reason = (b: Uint8Array, src?: number, dst?: number): string => {
    const r = decodeTcp(b, src, dst);
    return r instanceof DecodeError ? r.reason : "ok";
  };

  it("truncated header", () => expect(reason(fromHex(base).subarray(0, 19))).toBe("truncated"));
  it("empty", () => expect(reason(new Uint8Array(0))).toBe("truncated"));
  it("data offset below 5", () => {
    const b = fromHex(base);
    b[12] = 4 << 4;
    expect(reason(b)).toBe("bad-length");
  });
  it("data offset past the end", () => {
    const b = fromHex(base);
    b[12] = 6 << 4;
    expect(reason(b)).toBe("truncated");
  });
  it("option length 0 and 1", () => {
    expect(reason(withOpts("02000000"))).toBe("bad-option");
    expect(reason(withOpts("02010000"))).toBe("bad-option");
  });
  it("option running past the header", () => expect(reason(withOpts("010108ff"))).toBe("bad-option"));
  it("option kind without a length byte", () => expect(reason(withOpts("01010102"))).toBe("bad-option"));
  it("MSS with length 3", () => expect(reason(withOpts("02030501"))).toBe("bad-option"));
  it("window scale with length 4", () => expect(reason(withOpts("03040700"))).toBe("bad-option"));
  it("SACK-permitted with length 3", () => expect(reason(withOpts("04030000"))).toBe("bad-option"));
  it("timestamps with length 8", () => expect(reason(withOpts("0808000000000000"))).toBe("bad-option"));
  it("SACK with no block or a partial block", () => {
    expect(reason(withOpts("01010502"))).toBe("bad-option");
    expect(reason(withOpts("0506000000010000"))).toBe("bad-option");
  });
  it("a checksum that does not verify", () => {
    const seg = encodeTcp(
      { sourcePort: 1, destinationPort: 2, seq: 3, ack: 4, flags: 16, window: 9 },
      fromHex("01"),
      undefined,
      0,
      1,
      2,
    );
    expect(reason(seg, 1, 2)).toBe("ok");
    seg[20] ^= 1;
    expect(reason(seg, 1, 2)).toBe("bad-checksum");
    expect(reason(seg)).toBe("ok"); // no addresses, no checksum check (offloaded)
  });
});

const optionArb: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant({ kind: 1 } as TcpOption),
  fc.integer({ min: 0, max: 0xffff }).map((mss) => ({ kind: 2, mss }) as TcpOption),
  fc.integer({ min: 0, max: 14 }).map((shift) => ({ kind: 3, shift }) as TcpOption),
  fc.constant({ kind: 4 } as TcpOption),
  fc
    .array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 2 })
    .map((xs) => ({ kind: 5, blocks: xs.flatMap((x) => [x, (x + 100) >>> 0]) }) as TcpOption),
  fc
    .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }))
    .map(([tsVal, tsEcr]) => ({ kind: 8, tsVal, tsEcr }) as TcpOption),
  fc
    .tuple(fc.integer({ min: 9, max: 253 }), fc.uint8Array({ maxLength: 6 }))
    .filter(([k]) => k !== 8)
    .map(([kind, data]) => ({ kind, data }) as TcpOption),
);

const headerArb: fc.Arbitrary<TcpHeader> = fc.record({
  sourcePort: fc.integer({ min: 0, max: 0xffff }),
  destinationPort: fc.integer({ min: 0, max: 0xffff }),
  seq: fc.integer({ min: 0, max: 0xffffffff }),
  ack: fc.integer({ min: 0, max: 0xffffffff }),
  flags: fc.integer({ min: 0, max: 0xff }),
  window: fc.integer({ min: 0, max: 0xffff }),
  urgentPointer: fc.integer({ min: 0, max: 0xffff }),
  options: fc
    .array(optionArb, { maxLength: 4 })
    .filter((o) => o.reduce((n, x) => n + (x.kind === 5 ? 18 : 10), 0) <= 40),
});

describe("properties", () => {
  it("encode → decode round-trips every field, option and the checksum", () => {
    fc.assert(
      fc.property(
        headerArb,
        fc.uint8Array({ maxLength: 64 }),
        fc.integer(),
        fc.integer(),
        (h, payload, a, b) => {
          const src = a >>> 0;
          const dst = b >>> 0;
          const seg = encodeTcp(h, payload, undefined, 0, src, dst);
          const v = decodeTcp(seg, src, dst);
          if (v instanceof DecodeError) return false;
          const opts = v.options;
          // The list ends with an EOL only when padding was needed.
          const trimmed = opts.length > 0 && opts[opts.length - 1]!.kind === 0 ? opts.slice(0, -1) : opts;
          expect(trimmed).toEqual(h.options);
          expect(header(v)).toEqual({ ...h, options: opts });
          expect(toHex(v.payload)).toBe(toHex(payload));
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });

  it("writeTcpChecksum then verify agrees for any payload length (odd ones too)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 200 }), fc.integer(), fc.integer(), (b, s, d) => {
        const seg = b.slice();
        seg[12] = 5 << 4;
        writeTcpChecksum(seg, s >>> 0, d >>> 0);
        return verifyTcpChecksum(seg, s >>> 0, d >>> 0);
      }),
    );
  });

  it("never throws on arbitrary bytes, and a view it returns reads in bounds", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        const v = decodeTcp(b, 1, 2);
        const w = decodeTcp(b);
        for (const r of [v, w]) {
          if (r instanceof DecodeError) continue;
          expect(r.headerLength).toBeLessThanOrEqual(b.length);
          r.options;
          for (let i = 0; i < r.sackCount; i++) expect(r.sackRight(i)).toBeGreaterThanOrEqual(0);
          expect(r.payload.length + r.headerLength).toBe(b.length);
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it("decoding into a reused view gives the same fields as a fresh one", () => {
    const reused = new TcpView(new Uint8Array(20), 20);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(headerArb, fc.uint8Array({ maxLength: 20 })), { minLength: 1, maxLength: 5 }),
        (hs) => {
          for (const [h, p] of hs) {
            const seg = encodeTcp(h, p);
            const fresh = decodeTcp(seg) as TcpView;
            const again = decodeTcp(seg, undefined, undefined, reused) as TcpView;
            expect(again).toBe(reused);
            expect({ ...again, options: again.options, payload: toHex(again.payload) }).toEqual({
              ...fresh,
              options: fresh.options,
              payload: toHex(fresh.payload),
            });
          }
          return true;
        },
      ),
      { numRuns: 100 },
    );
  });

  it("never throws on mutated real segments", () => {
    const real = [...segments("tcp-session.pcap"), ...segments("tcp-rst.pcap")].map((c) => c.tcp);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: real.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(),
        (i, muts, cut) => {
          const b = real[i]!.slice(0, Math.max(0, real[i]!.length - (cut % 8)));
          for (const [at, v] of muts) if (b.length > 0) b[at % b.length] = v;
          const r = decodeTcp(b, IP1, IP2);
          const o = r instanceof DecodeError ? r.reason : r.options.length;
          return o !== undefined;
        },
      ),
      { numRuns: 2000 },
    );
  });
});

/**
 * An independent decoder written from RFC 9293 §3.1 (and RFC 7323, RFC 2018 for the option
 * lengths), the obvious way: a view per segment, the textbook RFC 1071 checksum loop. The fast
 * decoders must agree with it on every input, accepted or refused.
 */
function referenceDecode(seg: Uint8Array, src?: number, dst?: number): Record<string, unknown> {
  const len = seg.length;
  if (len < 20) return { reason: "truncated", at: len };
  const hl = (seg[12]! >>> 4) * 4;
  if (hl < 20) return { reason: "bad-length", at: 12 };
  if (hl > len) return { reason: "truncated", at: len };
  if (src !== undefined && dst !== undefined) {
    let sum = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 6 + len;
    for (let i = 0; i < len; i += 2) sum += (seg[i]! << 8) | (seg[i + 1] ?? 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
    if (sum !== 0xffff) return { reason: "bad-checksum", at: 16 };
  }
  const f = {
    mss: -1,
    windowScale: -1,
    sackPermitted: false,
    hasTimestamps: false,
    tsVal: 0,
    tsEcr: 0,
    sackCount: 0,
    sackAt: 0,
    hasUnknownOptions: false,
  };
  const fixed: Record<number, number> = { 2: 4, 3: 3, 4: 2, 8: 10 };
  for (let p = 20; p < hl; ) {
    const kind = seg[p]!;
    if (kind === 0) break;
    if (kind === 1) {
      p++;
      continue;
    }
    if (p + 1 >= hl) return { reason: "bad-option", at: p };
    const ol = seg[p + 1]!;
    if (ol < 2 || p + ol > hl) return { reason: "bad-option", at: p + 1 };
    if (fixed[kind] !== undefined && ol !== fixed[kind]) return { reason: "bad-option", at: p + 1 };
    if (kind === 5 && (ol < 10 || (ol - 2) % 8 !== 0)) return { reason: "bad-option", at: p + 1 };
    if (kind === 2) f.mss = u16(seg, p + 2);
    else if (kind === 3) f.windowScale = seg[p + 2]!;
    else if (kind === 4) f.sackPermitted = true;
    else if (kind === 5) [f.sackCount, f.sackAt] = [(ol - 2) / 8, p + 2];
    else if (kind === 8) [f.hasTimestamps, f.tsVal, f.tsEcr] = [true, u32(seg, p + 2), u32(seg, p + 6)];
    else f.hasUnknownOptions = true;
    p += ol;
  }
  const sack: number[] = [];
  for (let i = 0; i < f.sackCount; i++) sack.push(u32(seg, f.sackAt + 8 * i), u32(seg, f.sackAt + 8 * i + 4));
  const flags = seg[13]!;
  return {
    ...f,
    headerLength: hl,
    sourcePort: u16(seg, 0),
    destinationPort: u16(seg, 2),
    seq: u32(seg, 4),
    ack: u32(seg, 8),
    flags,
    window: u16(seg, 14),
    checksum: u16(seg, 16),
    urgentPointer: u16(seg, 18),
    sack,
    payload: toHex(seg.subarray(hl)),
    payloadLength: len - hl,
    segmentLength: len - hl + (flags & 2 ? 1 : 0) + (flags & 1 ? 1 : 0),
    bytes: toHex(seg),
    optionBytes: toHex(seg.subarray(20, hl)),
  };
}

/** What a decoder returned, in {@link referenceDecode}'s terms (every getter read). */
function observed(r: TcpView | DecodeError): Record<string, unknown> {
  if (r instanceof DecodeError) return { reason: r.reason, at: r.at };
  const sack: number[] = [];
  for (let i = 0; i < r.sackCount; i++) sack.push(r.sackLeft(i), r.sackRight(i));
  return {
    mss: r.mss,
    windowScale: r.windowScale,
    sackPermitted: r.sackPermitted,
    hasTimestamps: r.hasTimestamps,
    tsVal: r.tsVal,
    tsEcr: r.tsEcr,
    sackCount: r.sackCount,
    sackAt: r.sackAt,
    hasUnknownOptions: r.hasUnknownOptions,
    headerLength: r.headerLength,
    sourcePort: r.sourcePort,
    destinationPort: r.destinationPort,
    seq: r.seq,
    ack: r.ack,
    flags: r.flags,
    window: r.window,
    checksum: r.checksum,
    urgentPointer: r.urgentPointer,
    sack,
    payload: toHex(r.payload),
    payloadLength: r.payloadLength,
    segmentLength: r.segmentLength,
    bytes: toHex(r.bytes),
    optionBytes: toHex(r.optionBytes),
  };
}

/** `seg` inside a larger buffer: `pre` bytes of `fill` before it, `post` after (a frame's padding). */
function embed(seg: Uint8Array, pre: number, post: number, fill = 0x5a): Uint8Array {
  const b = new Uint8Array(pre + seg.length + post).fill(fill);
  b.set(seg, pre);
  return b;
}

describe("decodeTcpAt: a segment decoded in place in its frame", () => {
  const file = decodePcap(readFixture("tcp-session.pcap"));
  if (file instanceof DecodeError) throw new Error(String(file));
  const frames = file.records.map((r) => r.data);

  it("reads every captured segment from its frame as decodeTcp reads the IP payload", () => {
    const reused = new TcpView(new Uint8Array(0), 0);
    for (const frame of frames) {
      const end = 14 + u16(frame, 16); // untagged Ethernet, total length of a 20-byte-header datagram
      const [src, dst] = [u32(frame, 26), u32(frame, 30)];
      const v = decodeTcpAt(frame, 34, end, src, dst);
      if (v instanceof DecodeError) throw new Error(String(v));
      expect(v.data).toBe(frame); // no copy, no view made by decoding
      expect([v.start, v.end, v.payloadStart]).toEqual([34, end, 34 + v.headerLength]);
      const slice = frame.subarray(34, end);
      expect(observed(v)).toEqual(referenceDecode(slice, src, dst));
      expect(observed(v)).toEqual(observed(decodeTcp(slice, src, dst)));
      expect(v.options).toEqual((decodeTcp(slice) as TcpView).options);
      expect(decodeTcpAt(frame, 34, end, src, dst, reused)).toBe(reused);
      expect(observed(reused)).toEqual(observed(v));
    }
    // The SYN (Linux's layout: MSS, SACK-permitted, timestamps, NOP, window scale) and the data
    // segment (NOP, NOP, timestamps: the layout RFC 7323 Appendix A recommends), field by field.
    const syn = decodeTcpAt(frames[0]!, 34, 74, IP1, IP2) as TcpView;
    expect([syn.mss, syn.sackPermitted, syn.tsVal, syn.tsEcr, syn.windowScale]).toEqual([
      1460,
      true,
      4234897411,
      0,
      10,
    ]);
    const data = frames[3]!;
    const seg = decodeTcpAt(data, 34, 14 + u16(data, 16), IP2, IP1) as TcpView;
    expect([seg.hasTimestamps, seg.tsVal, seg.tsEcr, seg.mss, seg.payloadLength]).toEqual([
      true,
      599742831,
      4234897411,
      -1,
      13,
    ]);
    expect(toHex(data.subarray(seg.payloadStart, seg.end))).toBe(toHex(seg.payload));
  });

  it("agrees with the reference decoder on any segment, anywhere in a buffer, accepted or refused", () => {
    const reused = new TcpView(new Uint8Array(0), 0);
    fc.assert(
      fc.property(
        headerArb,
        fc.uint8Array({ maxLength: 40 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.nat({ max: 40 }),
        fc.nat({ max: 8 }),
        fc.nat({ max: 8 }),
        fc.boolean(),
        (h, payload, muts, pre, post, cut, withSum) => {
          const [src, dst] = [0x0a090001, 0xc0a80102];
          const seg = encodeTcp(h, payload, undefined, 0, src, dst).slice();
          for (const [at, v] of muts) seg[at % seg.length] = v; // often a bad option or checksum
          const len = Math.max(0, seg.length - cut);
          const buf = embed(seg, pre, post);
          const [s, d] = withSum ? [src, dst] : [undefined, undefined];
          const expected = referenceDecode(seg.subarray(0, len), s, d);
          expect(observed(decodeTcpAt(buf, pre, pre + len, s, d))).toEqual(expected);
          expect(observed(decodeTcpAt(buf, pre, pre + len, s, d, reused))).toEqual(expected);
          expect(observed(decodeTcp(seg.subarray(0, len), s, d))).toEqual(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("agrees with the reference decoder on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat({ max: 16 }), (seg, pre) => {
        const buf = embed(seg, pre, 3, 0xff);
        expect(observed(decodeTcpAt(buf, pre, pre + seg.length, 1, 2))).toEqual(referenceDecode(seg, 1, 2));
        expect(observed(decodeTcpAt(buf, pre, pre + seg.length))).toEqual(referenceDecode(seg));
      }),
      { numRuns: 2000 },
    );
  });

  it("takes any bounds without throwing: past the buffer, reversed, negative", () => {
    const seg = frames[0]!.subarray(34, 74);
    const buf = embed(seg, 10, 0);
    // An end past the buffer is the buffer's end (as decodeTcp of a shorter slice).
    expect(observed(decodeTcpAt(buf, 10, 1000))).toEqual(referenceDecode(seg));
    expect(observed(decodeTcpAt(buf, 10, 49))).toEqual({ reason: "truncated", at: 39 });
    expect(observed(decodeTcpAt(buf, 10, 49))).toEqual(referenceDecode(seg.subarray(0, 39)));
    for (const [start, end] of [
      [30, 20],
      [-4, 40],
      [60, 60],
      [1000, 2000],
      [Number.NaN, 40],
      [10, Number.NaN],
    ]) {
      const r = decodeTcpAt(buf, start!, end!, 1, 2);
      expect(r, `${start}..${end}`).toBeInstanceOf(DecodeError);
      expect((r as DecodeError).reason).toBe("truncated");
    }
  });

  it("makes the segment's own view only when asked, and can be pointed at a segment", () => {
    const frame = frames[3]!;
    const end = 14 + u16(frame, 16);
    const v = decodeTcpAt(frame, 34, end) as TcpView;
    const bytes = v.bytes;
    expect(toHex(bytes)).toBe(toHex(frame.subarray(34, end)));
    expect(v.bytes).toBe(bytes); // made once
    const whole = frame.slice(34, end);
    v.bytes = whole;
    expect([v.data, v.start, v.end, v.bytes]).toEqual([whole, 0, whole.length, whole]);
    expect(v.seq).toBe(903894230);
    expect((decodeTcp(whole) as TcpView).bytes).toBe(whole); // a whole buffer is its own view
  });
});

describe("encodeTcp with pre-encoded options", () => {
  const fields = { sourcePort: 52546, destinationPort: 7777, seq: 1, ack: 2, flags: 2, window: 64240 };

  it("writes optionBytes as given, padded with zeros, instead of the option list", () => {
    const optionBytes = fromHex("020405b4 0402 080afc6ba10300000000 01 030307".replace(/ /g, ""));
    const out = new Uint8Array(60).fill(0xa5);
    const seg = encodeTcp({ ...fields, optionBytes, options: [{ kind: 1 }] }, undefined, out, 4, IP1, IP2);
    expect(seg.length).toBe(40);
    expect(toHex(seg.subarray(20))).toBe(`${toHex(optionBytes)}`);
    const part = encodeTcp({ ...fields, optionBytes: fromHex("0402ffff"), optionLength: 2 });
    expect(toHex(part.subarray(12, 13))).toBe("60");
    expect(toHex(part.subarray(20))).toBe("04020000");
    expect(out[3]).toBe(0xa5);
    expect(out[44]).toBe(0xa5);
    expect(verifyTcpChecksum(seg, IP1, IP2)).toBe(true);
    expect(() => encodeTcp({ ...fields, optionBytes: new Uint8Array(41) })).toThrow(RangeError);
    expect(tcpHeaderLength({ ...fields, optionBytes: new Uint8Array(40), optionLength: 3 })).toBe(24);
  });

  it("gives the bytes of the option list, checksum included, for any header and payload", () => {
    fc.assert(
      fc.property(headerArb, fc.uint8Array({ maxLength: 64 }), (h, payload) => {
        const listed = encodeTcp(h, payload, undefined, 0, IP1, IP2);
        const optionBytes = new Uint8Array(40).fill(0xee);
        const n = writeTcpOptions(h.options ?? [], optionBytes, 0);
        const { options: _, ...rest } = h;
        const pre = encodeTcp({ ...rest, optionBytes, optionLength: n }, payload, undefined, 0, IP1, IP2);
        expect(toHex(pre)).toBe(toHex(listed));
        expect(tcpHeaderLength({ ...rest, optionBytes, optionLength: n })).toBe(tcpHeaderLength(h));
      }),
      { numRuns: 300 },
    );
  });

  it("encodes the engine's segment header (its options already bytes) as the option list", () => {
    const out = new TcpSegmentOut();
    Object.assign(out.header, fields);
    out.header.options = [
      { kind: 2, mss: 1460 },
      { kind: 4 },
      { kind: 8, tsVal: 7, tsEcr: 0 },
      { kind: 1 },
      { kind: 3, shift: 7 },
    ];
    const a = encodeTcp(out.header, undefined, undefined, 0, IP1, IP2);
    const b = encodeTcp({ ...fields, options: out.header.options }, undefined, undefined, 0, IP1, IP2);
    expect(toHex(a)).toBe(toHex(b));
    expect(a.length).toBe(40);
  });
});
