// Cross-check with a real dissector: a lossy, reordering transfer between two engines is
// captured as the senders put it on the wire (IPv4-wrapped, pcap linktype 101), and tshark reads
// it with checksum validation and TCP analysis on. Every segment must dissect cleanly with a
// good checksum, tshark must see the negotiated window scale and SACK blocks, and the
// retransmissions tshark finds must be the ones the engines counted.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { internetChecksum } from "@userstack/ipv4";
import { LinkType, PcapWriter } from "@userstack/pcap";
import { missing } from "@userstack/testkit";
import { put16, put32 } from "@userstack/wire";
import { describe, expect, it } from "vitest";
import { fnv, pattern, Sim, Transfer } from "./sim.js";

const A = 0x0a000001;
const B = 0x0a000002;

function ipv4(src: number, dst: number, tcp: Uint8Array, id: number): Uint8Array {
  const p = new Uint8Array(20 + tcp.length);
  p[0] = 0x45;
  put16(p, 2, p.length);
  put16(p, 4, id);
  put16(p, 6, 0x4000);
  p[8] = 64;
  p[9] = 6;
  put32(p, 12, src);
  put32(p, 16, dst);
  put16(p, 10, internetChecksum(p, 0, 20));
  p.set(tcp, 20);
  return p;
}

const skip = missing({ tools: ["tshark"] });

describe.skipIf(skip)("tshark reads what the engines send", () => {
  it("a lossy transfer dissects cleanly; tshark agrees on options and retransmissions", () => {
    const sim = new Sim({ delay: 10, loss: 0.05, reorder: 0.05, jitter: 15 }, 42);
    sim.traceEnabled = true;
    const a = sim.host(A, { msl: 500 });
    const b = sim.host(B, { msl: 500 });
    b.listen(80);
    const c = a.connect(b, 80, 40000);
    const data = pattern(400_000, 42);
    const t = new Transfer(sim, data, c, undefined, true);
    const ok = sim.run(() => t.readerDone && a.conns.size === 0 && b.conns.size === 0, {
      onStep: () => {
        if (t.reader === undefined && b.accepted[0] !== undefined) t.reader = b.accepted[0];
        t.hook();
      },
    });
    expect(ok).toBe(true);
    expect(t.received.h).toBe(fnv(data));

    const chunks: Uint8Array[] = [];
    const w = new PcapWriter({ write: (x) => chunks.push(x.slice()) }, { linkType: LinkType.Raw });
    sim.trace.forEach((r, i) => {
      w.write(ipv4(r.from, r.from === A ? B : A, r.bytes, i), r.at);
    });
    const dir = mkdtempSync(join(tmpdir(), "tcp-tshark-"));
    try {
      const file = join(dir, "transfer.pcap");
      writeFileSync(file, Buffer.concat(chunks));
      const out = execFileSync(
        "tshark",
        [
          "-r",
          file,
          "-n",
          "-o",
          "tcp.check_checksum:true",
          "-o",
          "tcp.analyze_sequence_numbers:true",
          "-T",
          "fields",
          "-E",
          "separator=|",
          "-e",
          "frame.number",
          "-e",
          "tcp.checksum.status",
          "-e",
          "_ws.malformed",
          "-e",
          "_ws.expert.severity",
          "-e",
          "tcp.analysis.retransmission",
          "-e",
          "tcp.analysis.fast_retransmission",
          "-e",
          "tcp.options.sack_le",
          "-e",
          "tcp.window_size_scalefactor",
          "-e",
          "tcp.srcport",
        ],
        { encoding: "utf8", maxBuffer: 64 << 20 },
      );
      const rows = out
        .trim()
        .split("\n")
        .map((l) => l.split("|"));
      expect(rows.length).toBe(sim.trace.length);
      let retransmissions = 0;
      let sackFrames = 0;
      for (const [frame, status, malformed, severity, rtx, fastRtx, sackLe, scale] of rows) {
        expect(status, `frame ${frame} checksum`).toBe("1"); // 1 = good
        expect(malformed, `frame ${frame} malformed`).toBe("");
        // Expert infos at error level (8388608) mean a protocol violation.
        expect(
          severity!.split(",").filter((s) => Number(s) >= 8388608),
          `frame ${frame} expert`,
        ).toEqual([]);
        if (rtx || fastRtx) retransmissions++;
        if (sackLe) sackFrames++;
        if (Number(frame) > 3) expect(scale).toBe("64"); // our shift 6, theirs 6: 2^6 both ways
      }
      const server = b.accepted[0]!;
      const counted = c.status().retransmits + server.status().retransmits;
      expect(retransmissions).toBeGreaterThan(0);
      expect(retransmissions).toBe(counted);
      expect(sackFrames).toBeGreaterThan(0);
      console.log(
        `tshark: ${rows.length} frames, ${retransmissions} retransmissions (engines counted ${counted}), ${sackFrames} with SACK blocks`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
