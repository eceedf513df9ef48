import { createHash } from "node:crypto";
import { type FaultConfig, type Link, memoryPair, VirtualClock, withFaults } from "@userstack/link";
import { createStack, type Stack, type StackOptions } from "../src/index.js";

export const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Deterministic bytes: a seeded xorshift stream, so a transfer's hash is reproducible. */
export function pattern(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 255;
  }
  return b;
}

/** Two stacks on an IP-medium memory pair, optionally with faults on each side, in virtual time. */
export function virtualPair(
  faults?: FaultConfig & { seed: number },
  extra: Partial<StackOptions> = {},
): { clock: VirtualClock; a: Stack; b: Stack; links: Link[] } {
  const clock = new VirtualClock();
  const [la, lb] = memoryPair({ medium: "ip", mtu: 1500, clock, latencyMs: 1, queueLimit: 4096 });
  const wrap = (l: Link, seed: number): Link => (faults ? withFaults(l, { ...faults, seed, clock }) : l);
  const links = [wrap(la, faults?.seed ?? 0), wrap(lb, (faults?.seed ?? 0) + 1000)];
  const a = createStack({ ...extra, link: links[0]!, ipv4: "10.0.0.1/24", clock });
  const b = createStack({ ...extra, link: links[1]!, ipv4: "10.0.0.2/24", clock });
  return { clock, a, b, links };
}

/**
 * Advances virtual time in steps, letting promise callbacks run between steps, until `done()`
 * holds or `maxMs` of virtual time have passed. Returns the virtual time it took.
 */
export async function runVirtual(
  clock: VirtualClock,
  done: () => boolean,
  maxMs: number,
  stepMs = 5,
): Promise<number> {
  const start = clock.now();
  while (!done()) {
    if (clock.now() - start > maxMs) throw new Error(`not done after ${maxMs} ms of virtual time`);
    clock.advance(stepMs);
    await new Promise((r) => setImmediate(r));
  }
  return clock.now() - start;
}
