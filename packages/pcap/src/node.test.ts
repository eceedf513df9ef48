import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missing } from "@userstack/testkit";
import { DecodeError, toHex } from "@userstack/wire";
import { afterAll, describe, expect, it } from "vitest";
import { type ByteSink, decodePcap, LinkType, MemorySink, PcapWriter } from "./index.js";
import { fileSink } from "./node.js";

const dir = mkdtempSync(join(tmpdir(), "pcap-node-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An ARP request frame, so tshark has something to dissect. */
const frame = Uint8Array.from(
  Buffer.from(
    "ffffffffffff0200000000010806000108000604000102000000000" + "10a000001000000000000" + "0a000002",
    "hex",
  ),
);

function writeBoth(path: string, big: Uint8Array) {
  const mem = new MemorySink();
  const file = fileSink(path);
  for (const sink of [mem, file] as ByteSink[]) {
    const w = new PcapWriter(sink, { linkType: LinkType.Ethernet });
    w.write(frame, 1_700_000_000_000.5);
    w.write(big, 1_700_000_000_001.25);
    sink.close?.();
  }
  return mem.bytes();
}

describe("fileSink", () => {
  it("writes what a MemorySink gets, records larger than its 64 KiB buffer included", () => {
    const path = join(dir, "a.pcap");
    const big = new Uint8Array(70_000).map((_, i) => i & 0xff);
    const mem = writeBoth(path, big);
    const disk = new Uint8Array(readFileSync(path));
    expect(disk.length).toBe(mem.length);
    expect(toHex(disk)).toBe(toHex(mem));
    const f = decodePcap(disk);
    if (f instanceof DecodeError) throw new Error(String(f));
    expect(f.records.map((r) => r.data.length)).toEqual([42, 70_000]);
  });

  const skip = missing({ tools: ["tshark"] });
  it.skipIf(skip)("writes files tshark opens, with our times and lengths", () => {
    const path = join(dir, "b.pcap");
    writeBoth(path, new Uint8Array(100));
    const out = execFileSync(
      "tshark",
      ["-r", path, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "arp.dst.proto_ipv4"],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    );
    expect(out.split("\n").filter(Boolean)).toEqual([
      "1700000000.000500000\t42\t10.0.0.2",
      "1700000000.001250000\t100\t",
    ]);
  });
});
