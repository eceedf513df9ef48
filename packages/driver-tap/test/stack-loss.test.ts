// The same transfers through a lossy, reordering, duplicating path: nft netdev rules on the TAP
// inside the namespace drop 5% of the frames each way (this kernel has no netem), and separately
// the stack's own withFaults wrapper reorders and duplicates. Every byte must arrive, in order.
import type { FaultyLink } from "@userstack/link";
import { missing } from "@userstack/testkit";
import { describe, expect, it } from "vitest";
import { createBodyApp } from "./body-app.js";
import { bodyDigest } from "./deterministic-body.js";
import {
  curlDigest,
  end,
  kernelSink,
  nftDrops,
  nftLoss,
  recoveryLine,
  STACK_IP,
  type StackOnTap,
  uploadFromStack,
  watchConnections,
  withStackOnTap,
} from "./stack-on-tap.js";

const skip = missing({ root: true, tools: ["ip", "bash", "curl", "sha256sum", "python3", "nft"] });
const SIZE = 64 * 2 ** 20;
// At 5% loss each way the stack's TCP recovers mostly by retransmission timeouts (see the README):
// 64 MB take 20–50 s here, so these tests get more than vitest's default minute.
const LOSSY_MS = 150_000;

const mbits = (bytes: number, seconds: number) => `${((bytes * 8) / seconds / 1e6).toFixed(0)} Mbit/s`;

/** curl downloads from node:http on the stack; returns curl's figures after checking the digest. */
async function download({ ns, stack }: StackOnTap, seed: number) {
  const watch = watchConnections(stack);
  const app = createBodyApp();
  stack.createServer((socket) => app.emit("connection", socket)).listen(80);
  const r = await curlDigest(ns, `http://${STACK_IP}/body?size=${SIZE}&seed=${seed}`, 140);
  expect(r.bytes).toBe(SIZE);
  expect(r.sha256).toBe(bodyDigest(seed, SIZE));
  for (const c of watch.stop()) console.log(recoveryLine(c));
  return r;
}

/** The stack uploads to the kernel-side sink; returns the seconds it took after checking the digest. */
async function upload({ ns, stack }: StackOnTap, seed: number): Promise<number> {
  const watch = watchConnections(stack);
  const sink = await kernelSink(ns, 9000, 140);
  try {
    const t0 = performance.now();
    const reply = await uploadFromStack(stack, 9000, seed, SIZE);
    const seconds = (performance.now() - t0) / 1000;
    expect(await sink.report).toEqual({ bytes: SIZE, sha256: bodyDigest(seed, SIZE), peer: STACK_IP });
    expect(reply).toBe(`${SIZE} ${bodyDigest(seed, SIZE)}\n`);
    for (const c of watch.stop()) console.log(recoveryLine(c));
    return seconds;
  } finally {
    await end(sink.child);
  }
}

/** Each direction lost 5% of its IPv4 frames (within ±2 points: tens of thousands of frames each). */
function expectFivePercent({ tap }: StackOnTap, drops: { toKernel: number; toStack: number }): void {
  const sentByStack = tap.stats.txFrames;
  const sentByKernel = tap.stats.rxFrames + drops.toStack;
  console.log(
    `loss to the kernel ${((100 * drops.toKernel) / sentByStack).toFixed(2)}% of ${sentByStack} frames, ` +
      `to the stack ${((100 * drops.toStack) / sentByKernel).toFixed(2)}% of ${sentByKernel}`,
  );
  expect(drops.toKernel / sentByStack).toBeGreaterThan(0.03);
  expect(drops.toKernel / sentByStack).toBeLessThan(0.07);
  expect(drops.toStack / sentByKernel).toBeGreaterThan(0.03);
  expect(drops.toStack / sentByKernel).toBeLessThan(0.07);
}

describe.skipIf(skip)("transfers through a lossy path (nft, 5% each way)", () => {
  it(
    "curl downloads from the stack, byte-exact",
    async () => {
      await withStackOnTap({}, async (env) => {
        await nftLoss(env.ns, env.dev, 5);
        const r = await download(env, 3);
        const drops = await nftDrops(env.ns);
        console.log(
          `download at 5% loss: ${SIZE} bytes in ${r.seconds.toFixed(2)} s, ${mbits(SIZE, r.seconds)}; nft dropped ${drops.toStack} frames to the stack, ${drops.toKernel} to the kernel`,
        );
        expectFivePercent(env, drops);
      });
    },
    LOSSY_MS,
  );

  it(
    "the stack uploads to the kernel, byte-exact",
    async () => {
      await withStackOnTap({}, async (env) => {
        await nftLoss(env.ns, env.dev, 5);
        const seconds = await upload(env, 4);
        const drops = await nftDrops(env.ns);
        console.log(
          `upload at 5% loss: ${SIZE} bytes in ${seconds.toFixed(2)} s, ${mbits(SIZE, seconds)}; nft dropped ${drops.toStack} frames to the stack, ${drops.toKernel} to the kernel`,
        );
        expectFivePercent(env, drops);
      });
    },
    LOSSY_MS,
  );
});

describe.skipIf(skip)("transfers through the stack's own withFaults: reordering and duplication", () => {
  // Both directions of the stack's link: frames it sends and frames it receives.
  const faults = { seed: 11, reorder: 0.03, duplicate: 0.03 };

  it("curl downloads from the stack, byte-exact", async () => {
    await withStackOnTap({ faults }, async (env) => {
      const r = await download(env, 5);
      const stats = (env.link as FaultyLink).stats;
      console.log(
        `download with reorder and duplication: ${mbits(SIZE, r.seconds)}; ${JSON.stringify(stats)}`,
      );
      for (const dir of [stats.send, stats.receive]) {
        expect(dir.reordered).toBeGreaterThan(0);
        expect(dir.duplicated).toBeGreaterThan(0);
      }
    });
  });

  it("the stack uploads to the kernel, byte-exact", async () => {
    await withStackOnTap({ faults: { ...faults, seed: 12 } }, async (env) => {
      const seconds = await upload(env, 6);
      const stats = (env.link as FaultyLink).stats;
      console.log(`upload with reorder and duplication: ${mbits(SIZE, seconds)}; ${JSON.stringify(stats)}`);
      for (const dir of [stats.send, stats.receive]) {
        expect(dir.reordered).toBeGreaterThan(0);
        expect(dir.duplicated).toBeGreaterThan(0);
      }
    });
  });
});
