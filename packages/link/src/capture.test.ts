import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodePcap, LinkType, MemorySink, PcapWriter } from "@userstack/pcap";
import { missing, readFixture } from "@userstack/testkit";
import { DecodeError, toHex } from "@userstack/wire";
import { afterAll, describe, expect, it } from "vitest";
import { withCapture } from "./capture.js";
import { withFaults } from "./faults.js";
import { memoryPair } from "./memory-pair.js";
import { VirtualClock } from "./virtual-clock.js";

/** Kernel frames of a whole TCP session, and which side (by source MAC) sent each. */
function kernelSession(): { frames: Uint8Array[]; fromA: boolean[] } {
  const file = decodePcap(readFixture("tcp-session.pcap"));
  if (file instanceof DecodeError) throw new Error(String(file));
  const frames = file.records.map((r) => r.data.slice());
  const a = toHex(frames[0]!.subarray(6, 12));
  return { frames, fromA: frames.map((f) => toHex(f.subarray(6, 12)) === a) };
}

/** Replays the session across a captured pair: A's frames out of `a`, B's out of `b`, 1 ms apart. */
function replay(epoch: number) {
  const clock = new VirtualClock({ timeOrigin: epoch });
  const [rawA, b] = memoryPair({ clock, latencyMs: 0.25 });
  const sink = new MemorySink();
  const a = withCapture(rawA, sink, clock);
  a.attach({ receive() {}, flush() {} });
  b.attach({ receive() {}, flush() {} });
  const { frames, fromA } = kernelSession();
  frames.forEach((f, i) => {
    (fromA[i] ? a : b).send(f);
    clock.advance(1);
  });
  return { sink, frames, fromA, a };
}

describe("withCapture", () => {
  it("records both directions in wire order with the clock's timestamps", async () => {
    const epoch = Date.UTC(2024, 0, 1);
    const { sink, frames, fromA, a } = replay(epoch);
    await a.close();
    const file = decodePcap(sink.bytes());
    if (file instanceof DecodeError) throw new Error(String(file));
    expect(file.linkType).toBe(LinkType.Ethernet);
    expect(file.records.map((r) => toHex(r.data))).toEqual(frames.map(toHex));
    // Sent frames are stamped when sent (i ms), received ones when delivered (i + 0.25 ms).
    expect(file.records.map((r) => r.timeMs - epoch)).toEqual(
      fromA.map((sentByA, i) => (sentByA ? i : i + 0.25)),
    );
  });

  it("writes raw IP (linktype 101) for an IP link and shares a caller's writer without closing it", async () => {
    const clock = new VirtualClock();
    const [a] = memoryPair({ clock, medium: "ip" });
    const sink = new MemorySink();
    withCapture(a, sink, clock);
    expect(decodePcap(sink.bytes())).toMatchObject({ linkType: LinkType.Raw, records: [] });
    const shared = new PcapWriter(new MemorySink(), { linkType: LinkType.Raw });
    const c = withCapture(memoryPair({ clock, medium: "ip" })[0], shared, clock);
    expect(c.writer).toBe(shared);
    c.send(new Uint8Array(40));
    await c.close();
    expect(shared.packets).toBe(1);
  });

  it("records what the wire saw when innermost, what the stack sent when outermost", () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    b.attach({ receive() {}, flush() {} });
    const wire = withCapture(a, new MemorySink(), clock);
    const lossy = withFaults(wire, { seed: 3, drop: 0.5, clock });
    const stackView = withCapture(lossy, new MemorySink(), clock);
    const { frames } = kernelSession();
    for (let i = 0; i < 200; i++) stackView.send(frames[i % frames.length]!);
    expect(stackView.writer.packets).toBe(200);
    expect(wire.writer.packets).toBe(200 - lossy.stats.send.dropped);
    expect(lossy.stats.send.dropped).toBeGreaterThan(70);
  });
});

const skip = missing({ tools: ["tshark"] });
describe.skipIf(skip)("withCapture output in tshark", () => {
  const dir = mkdtempSync(join(tmpdir(), "userstack-link-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("opens with every frame decoded as TCP, checksums good, nothing malformed", async () => {
    const { sink, frames, a } = replay(Date.UTC(2024, 0, 1));
    await a.close();
    const path = join(dir, "session.pcap");
    writeFileSync(path, sink.bytes());
    const tshark = (...args: string[]) =>
      execFileSync(
        "tshark",
        ["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-r", path, ...args],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
      );
    const protocols = tshark("-T", "fields", "-e", "frame.protocols").trim().split("\n");
    expect(protocols.length).toBe(frames.length);
    for (const p of protocols) expect(p).toMatch(/^eth:ethertype:ip:tcp(:data)?$/);
    expect(tshark("-Y", "_ws.malformed || _ws.expert.severity >= warning || tcp.checksum.status == 0")).toBe(
      "",
    );
    // Status 1 is "good": every checksum was verified, not skipped.
    expect(tshark("-Y", "tcp.checksum.status == 1").trim().split("\n").length).toBe(frames.length);
  });
});
