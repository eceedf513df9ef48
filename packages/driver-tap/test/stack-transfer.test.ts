// 64 MB each way between a userstack stack on a TAP and the Linux kernel's own TCP: curl downloads
// from node:http on the stack, and the stack uploads to a server on the kernel side. Byte-exact,
// checked by SHA-256 computed on each side independently.
import { missing } from "@userstack/testkit";
import { describe, expect, it } from "vitest";
import { createBodyApp } from "./body-app.js";
import { bodyDigest } from "./deterministic-body.js";
import { curlDigest, end, kernelSink, STACK_IP, uploadFromStack, withStackOnTap } from "./stack-on-tap.js";

const skip = missing({ root: true, tools: ["ip", "bash", "curl", "sha256sum", "python3"] });
const SIZE = 64 * 2 ** 20;

const mbits = (bytes: number, seconds: number) => `${((bytes * 8) / seconds / 1e6).toFixed(0)} Mbit/s`;

describe.skipIf(skip)("64 MB each way between the stack and the kernel", () => {
  it("curl downloads 64 MB from node:http on the stack, byte-exact", async () => {
    await withStackOnTap({}, async ({ ns, stack }) => {
      const app = createBodyApp();
      stack.createServer((socket) => app.emit("connection", socket)).listen(80);
      const r = await curlDigest(ns, `http://${STACK_IP}/body?size=${SIZE}&seed=1`, 60);
      console.log(`download: ${r.bytes} bytes in ${r.seconds.toFixed(2)} s, ${mbits(r.bytes, r.seconds)}`);
      expect(r.bytes).toBe(SIZE);
      expect(r.headers["x-body-sha256"]).toBe(bodyDigest(1, SIZE));
      expect(r.sha256).toBe(bodyDigest(1, SIZE));
      const c = stack.interfaces()[0]!.counters;
      expect(c["tcp.tcpMalformed"]).toBe(0);
      expect(c["ipv4.badChecksum"]).toBe(0);
    });
  });

  it("the stack uploads 64 MB to a server on the kernel side, byte-exact", async () => {
    await withStackOnTap({}, async ({ ns, stack }) => {
      const sink = await kernelSink(ns, 9000, 60);
      try {
        const t0 = performance.now();
        const reply = await uploadFromStack(stack, 9000, 2, SIZE);
        const seconds = (performance.now() - t0) / 1000;
        const report = await sink.report;
        console.log(
          `upload: ${report.bytes} bytes in ${seconds.toFixed(2)} s, ${mbits(report.bytes, seconds)}`,
        );
        expect(report).toEqual({ bytes: SIZE, sha256: bodyDigest(2, SIZE), peer: STACK_IP });
        expect(reply).toBe(`${SIZE} ${bodyDigest(2, SIZE)}\n`);
      } finally {
        await end(sink.child);
      }
    });
  });
});
