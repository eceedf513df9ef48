import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixturePath, missing, readFixture } from "@userstack/testkit";
import { DecodeError, toHex } from "@userstack/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodePcap,
  LinkType,
  MemorySink,
  type PcapFile,
  type PcapRecord,
  PcapStreamReader,
  PcapWriter,
  writableStreamSink,
} from "./index.js";

const FIXTURES = [
  "arp-ping.pcap",
  "icmp-fragments.pcap",
  "icmp-unreachable.pcap",
  "tcp-rst.pcap",
  "tcp-session.pcap",
];

function ok(r: PcapFile | DecodeError): PcapFile {
  if (r instanceof DecodeError) throw new Error(String(r));
  return r;
}

/** A capture built field by field with an explicit byte order, independent of the writer under test. */
function handMade(opts: {
  littleEndian: boolean;
  nanosecond: boolean;
  linkTypeWord: number;
  records: { sec: number; frac: number; data: Uint8Array; orig?: number }[];
}): Uint8Array {
  const size = 24 + opts.records.reduce((n, r) => n + 16 + r.data.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  const le = opts.littleEndian;
  v.setUint32(0, opts.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, le);
  v.setUint16(4, 2, le);
  v.setUint16(6, 4, le);
  v.setUint32(16, 65535, le);
  v.setUint32(20, opts.linkTypeWord, le);
  let at = 24;
  for (const r of opts.records) {
    v.setUint32(at, r.sec, le);
    v.setUint32(at + 4, r.frac, le);
    v.setUint32(at + 8, r.data.length, le);
    v.setUint32(at + 12, r.orig ?? r.data.length, le);
    out.set(r.data, at + 16);
    at += 16 + r.data.length;
  }
  return out;
}

describe("reading the tcpdump fixtures (little-endian, microseconds)", () => {
  it("reads arp-ping.pcap's header and records", () => {
    const f = ok(decodePcap(readFixture("arp-ping.pcap")));
    expect(f.littleEndian).toBe(true);
    expect(f.nanosecond).toBe(false);
    expect(f.snapLen).toBe(262144);
    expect(f.linkType).toBe(LinkType.Ethernet);
    expect(f.records.map((r) => r.data.length)).toEqual([42, 42, 98, 98, 98, 98]);
    expect(f.records.map((r) => r.originalLength)).toEqual([42, 42, 98, 98, 98, 98]);
    const first = f.records[0]!;
    expect(first.seconds).toBe(1795446810);
    expect(first.nanoseconds).toBe(393912000);
    expect(first.timeMs).toBeCloseTo(1795446810393.912, 3);
    expect(toHex(first.data.subarray(0, 14))).toBe("ffffffffffff66d9aac202d40806");
  });

  const skip = missing({ tools: ["tshark"] });
  it.skipIf(skip)("agrees with tshark on every record of every fixture", () => {
    for (const name of FIXTURES) {
      const f = ok(decodePcap(readFixture(name)));
      const lines = execFileSync(
        "tshark",
        [
          "-r",
          fixturePath(name),
          "-T",
          "fields",
          "-e",
          "frame.time_epoch",
          "-e",
          "frame.len",
          "-e",
          "frame.cap_len",
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
      )
        .trim()
        .split("\n");
      expect(f.records.length, name).toBe(lines.length);
      lines.forEach((line, i) => {
        const [epoch, len, caplen] = line.split("\t");
        const [s, frac] = epoch!.split(".");
        const r = f.records[i]!;
        expect([r.seconds, r.nanoseconds, r.originalLength, r.data.length]).toEqual([
          Number(s),
          Number(frac!.padEnd(9, "0")),
          Number(len),
          Number(caplen),
        ]);
      });
    }
  });
});

describe("nanosecond and big-endian files", () => {
  it("reads a hand-made big-endian nanosecond file", () => {
    const bytes = handMade({
      littleEndian: false,
      nanosecond: true,
      linkTypeWord: 101,
      records: [
        { sec: 1_700_000_000, frac: 123_456_789, data: Uint8Array.of(0x45, 0, 0, 20) },
        { sec: 1_700_000_001, frac: 999_999_999, data: Uint8Array.of(1, 2), orig: 1500 },
      ],
    });
    const f = ok(decodePcap(bytes));
    expect([f.littleEndian, f.nanosecond, f.linkType, f.snapLen]).toEqual([false, true, LinkType.Raw, 65535]);
    expect(f.records.map((r) => [r.seconds, r.nanoseconds, r.originalLength, toHex(r.data)])).toEqual([
      [1_700_000_000, 123_456_789, 4, "45000014"],
      [1_700_000_001, 999_999_999, 1500, "0102"],
    ]);
    expect(f.records[0]!.timeMs).toBeCloseTo(1_700_000_000_123.457, 3);
  });

  it("reads the link type from the low 16 bits when FCS bits are set above it", () => {
    // FCS length 4 (bits 28–31 = 2 sixteen-bit words) and the P bit set, Ethernet underneath.
    const bytes = handMade({ littleEndian: true, nanosecond: false, linkTypeWord: 0x24000001, records: [] });
    expect(ok(decodePcap(bytes)).linkType).toBe(LinkType.Ethernet);
  });

  const skip = missing({ tools: ["tcpdump"] });
  it.skipIf(skip)("reads a nanosecond file tcpdump wrote, with the same packets as the µs original", () => {
    const dir = mkdtempSync(join(tmpdir(), "pcap-ns-"));
    try {
      const path = join(dir, "ns.pcap");
      execFileSync(
        "tcpdump",
        ["-r", fixturePath("tcp-session.pcap"), "--time-stamp-precision=nano", "-w", path],
        { stdio: "ignore" },
      );
      const ns = ok(decodePcap(new Uint8Array(readFileSync(path))));
      const us = ok(decodePcap(readFixture("tcp-session.pcap")));
      expect(ns.nanosecond).toBe(true);
      expect(toHex(new Uint8Array(readFileSync(path)).subarray(0, 4))).toBe("4d3cb2a1");
      expect(ns.records.length).toBe(10);
      ns.records.forEach((r, i) => {
        expect(r.seconds).toBe(us.records[i]!.seconds);
        expect(r.nanoseconds).toBe(us.records[i]!.nanoseconds);
        expect(toHex(r.data)).toBe(toHex(us.records[i]!.data));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("PcapWriter", () => {
  it("writes a little-endian nanosecond header and records", () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { linkType: LinkType.Raw, snapLen: 1000 });
    w.write(Uint8Array.of(1, 2, 3), 1500.25);
    expect(w.packets).toBe(1);
    expect(toHex(sink.bytes())).toBe(
      "4d3cb2a1 0200 0400 00000000 00000000 e8030000 65000000".replace(/ /g, "") +
        // 1 s, 500.25 ms = 500250000 ns = 0x1dd13590, caplen 3, len 3
        "01000000 9035d11d 03000000 03000000 010203".replace(/ /g, ""),
    );
  });

  it("cuts packets at the snapshot length and records the original length", () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { linkType: LinkType.Ethernet, snapLen: 64 });
    w.write(new Uint8Array(100).fill(7), 0);
    const r = ok(decodePcap(sink.bytes())).records[0]!;
    expect([r.data.length, r.originalLength]).toEqual([64, 100]);
  });

  it("round-trips any packets, link type, snapshot length and times", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(LinkType.Ethernet, LinkType.Raw, 228),
        fc.integer({ min: 1, max: 2000 }),
        fc.array(
          fc.record({
            data: fc.uint8Array({ maxLength: 1600 }),
            sec: fc.integer({ min: 0, max: 0xffffffff }),
            us: fc.integer({ min: 0, max: 999_999 }),
          }),
          { maxLength: 12 },
        ),
        (linkType, snapLen, packets) => {
          const sink = new MemorySink();
          const w = new PcapWriter(sink, { linkType, snapLen });
          for (const p of packets) w.write(p.data, p.sec * 1000 + p.us / 1000);
          const f = ok(decodePcap(sink.bytes()));
          expect([f.linkType, f.snapLen, f.nanosecond, f.littleEndian]).toEqual([
            linkType,
            snapLen,
            true,
            true,
          ]);
          expect(f.records.length).toBe(packets.length);
          f.records.forEach((r, i) => {
            const p = packets[i]!;
            expect(toHex(r.data)).toBe(toHex(p.data.subarray(0, snapLen)));
            expect(r.originalLength).toBe(p.data.length);
            // A double holds today's epoch in ms to ~0.5 µs: the time comes back within 1 µs.
            const diffNs = (r.seconds - p.sec) * 1e9 + (r.nanoseconds - p.us * 1000);
            expect(Math.abs(diffNs)).toBeLessThanOrEqual(1000);
            expect(r.nanoseconds).toBeLessThan(1e9);
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it("reports a failing WHATWG stream on close instead of an unhandled rejection", async () => {
    let writes = 0;
    const stream = new WritableStream<Uint8Array>({
      write() {
        if (++writes === 2) throw new Error("disk full");
      },
    });
    const w = new PcapWriter(writableStreamSink(stream.getWriter()), { linkType: LinkType.Ethernet });
    w.write(new Uint8Array(60), 0);
    w.write(new Uint8Array(60), 1);
    w.write(new Uint8Array(60), 2); // after the failure: must not leave the failed write's promise unhandled
    await new Promise((r) => setTimeout(r, 10));
    await expect(w.close()).rejects.toThrow("disk full");
  });

  it("writes to a WHATWG stream in order", async () => {
    const chunks: Uint8Array[] = [];
    const stream = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c) });
    const w = new PcapWriter(writableStreamSink(stream.getWriter()), { linkType: LinkType.Ethernet });
    w.write(Uint8Array.of(9, 9), 0);
    await w.close();
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    expect(toHex(ok(decodePcap(all)).records[0]!.data)).toBe("0909");
  });
});

describe("PcapStreamReader", () => {
  const collect = (bytes: Uint8Array, chunking: (n: number) => number[]) => {
    const reader = new PcapStreamReader();
    const out: { data: string; sec: number; ns: number; len: number }[] = [];
    const on = (r: PcapRecord) =>
      out.push({ data: toHex(r.data), sec: r.seconds, ns: r.nanoseconds, len: r.originalLength });
    let at = 0;
    for (const n of chunking(bytes.length)) {
      expect(reader.push(bytes.subarray(at, at + n), on)).toBeUndefined();
      at += n;
    }
    return { reader, out };
  };
  const expected = (bytes: Uint8Array) =>
    ok(decodePcap(bytes)).records.map((r) => ({
      data: toHex(r.data),
      sec: r.seconds,
      ns: r.nanoseconds,
      len: r.originalLength,
    }));

  it("gives the same records fed one byte at a time", () => {
    for (const name of FIXTURES) {
      const bytes = readFixture(name);
      const { reader, out } = collect(bytes, (n) => Array(n).fill(1));
      expect(out, name).toEqual(expected(bytes));
      expect(reader.pending).toBe(0);
      expect(reader.file?.linkType).toBe(1);
    }
  });

  it("gives the same records for any chunking", () => {
    const bytes = readFixture("icmp-fragments.pcap");
    const want = expected(bytes);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 20 }), (sizes) => {
        const { reader, out } = collect(bytes, (n) => {
          const cuts: number[] = [];
          let left = n;
          for (const s of sizes) {
            const c = Math.min(s, left);
            cuts.push(c);
            left -= c;
          }
          cuts.push(left);
          return cuts;
        });
        expect(out).toEqual(want);
        expect(reader.pending).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it("keeps an error once it has seen one, at its stream offset", () => {
    const bytes = readFixture("arp-ping.pcap").slice();
    // Corrupt the third record's caplen (record headers at 24, 82, 140).
    new DataView(bytes.buffer).setUint32(140 + 8, 0x7fffffff, true);
    const reader = new PcapStreamReader();
    let n = 0;
    let err: DecodeError | undefined;
    for (let i = 0; i < bytes.length && !err; i += 7) err = reader.push(bytes.subarray(i, i + 7), () => n++);
    expect(n).toBe(2);
    expect(err?.reason).toBe("bad-length");
    expect(err?.at).toBe(148);
    expect(reader.push(new Uint8Array(100), () => n++)).toBe(err);
  });
});

describe("torn and garbage files are DecodeError values", () => {
  it("refuses every torn cut of a real capture and accepts every record boundary", () => {
    const bytes = readFixture("arp-ping.pcap");
    const boundaries = new Set([24]);
    let at = 24;
    for (const len of [42, 42, 98, 98, 98, 98]) boundaries.add((at += 16 + len));
    for (let cut = 0; cut <= bytes.length; cut++) {
      const r = decodePcap(bytes.subarray(0, cut));
      if (boundaries.has(cut)) expect(r, `cut ${cut}`).not.toBeInstanceOf(DecodeError);
      else expect((r as DecodeError).reason, `cut ${cut}`).toBe("truncated");
    }
  });

  it("names what is wrong with a bad header", () => {
    const pcapng = Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a, ...new Array(20).fill(0));
    expect((decodePcap(pcapng) as DecodeError).reason).toBe("unsupported");
    const v1 = handMade({ littleEndian: true, nanosecond: false, linkTypeWord: 1, records: [] });
    v1[4] = 1;
    expect((decodePcap(v1) as DecodeError).reason).toBe("bad-version");
    const huge = handMade({
      littleEndian: true,
      nanosecond: false,
      linkTypeWord: 1,
      records: [{ sec: 0, frac: 0, data: new Uint8Array(4) }],
    });
    new DataView(huge.buffer).setUint32(24 + 8, 0xffffffff, true);
    const e = decodePcap(huge) as DecodeError;
    expect([e.reason, e.at]).toEqual(["bad-length", 32]);
  });

  it("never throws on arbitrary, truncated or mutated bytes", () => {
    const real = FIXTURES.map(readFixture);
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(...real)),
        fc.nat(7000),
        fc.array(fc.tuple(fc.nat(7000), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        (bytes, cut, flips) => {
          const b = bytes.slice(0, cut);
          for (const [at, v] of flips) if (at < b.length) b[at] = v;
          const r = decodePcap(b);
          if (r instanceof DecodeError) return r.layer === "pcap";
          return r.records.every((x) => x.data.length <= b.length && x.data.buffer === b.buffer);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
