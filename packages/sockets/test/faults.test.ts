import type { FaultyLink } from "@userstack/link";
import { describe, expect, it } from "vitest";
import type { BsdSocket } from "../src/index.js";
import { pattern, runVirtual, sha, virtualPair } from "./harness.js";

// Transfers between two whole stacks through links that lose, duplicate, reorder, delay and
// corrupt frames, in virtual time with fixed seeds: every byte must arrive, in order, and both
// connections must close cleanly.

async function drain(s: BsdSocket, into: Buffer[]): Promise<void> {
  for (let b = await s.recv(); b.length > 0; b = await s.recv()) into.push(Buffer.from(b));
}

async function transfer(seed: number, size: number, faults: Parameters<typeof virtualPair>[0]) {
  const { clock, a, b, links } = virtualPair(faults);
  const up = pattern(size, seed);
  const down = pattern(size >>> 1, seed + 7);
  const l = a.socket();
  await l.bind(5001);
  await l.listen();
  let serverGot: Buffer[] = [];
  let serverDone = false;
  void (async () => {
    const c = await l.accept();
    const sending = c.send(down).then(() => c.shutdown("write"));
    await drain(c, serverGot);
    await sending;
    await c.close();
    serverDone = true;
  })().catch((e) => {
    serverGot = [Buffer.from(String(e))];
    serverDone = true;
  });
  const s = b.socket();
  const clientGot: Buffer[] = [];
  let clientDone = false;
  void (async () => {
    await s.connect("10.0.0.1", 5001);
    const sending = s.send(up).then(() => s.shutdown("write"));
    await drain(s, clientGot);
    await sending;
    await s.close();
    clientDone = true;
  })();
  const took = await runVirtual(clock, () => serverDone && clientDone, 600_000);
  const retransmits = [...a.stats(), ...b.stats()].reduce((n, c) => n + c.retransmits, 0);
  // Let both ends finish closing (TIME-WAIT is 2×MSL).
  await runVirtual(clock, () => a.connections + b.connections === 0, 120_000, 50);
  const lanes = links.map((x) => (x as FaultyLink).stats.send);
  const sum = (k: "dropped" | "duplicated" | "reordered" | "corrupted") => lanes[0]![k] + lanes[1]![k];
  await a.close();
  await b.close();
  return {
    took,
    server: sha(Buffer.concat(serverGot)),
    client: sha(Buffer.concat(clientGot)),
    up: sha(up),
    down: sha(down),
    faults: {
      dropped: sum("dropped"),
      duplicated: sum("duplicated"),
      reordered: sum("reordered"),
      corrupted: sum("corrupted"),
    },
    retransmits,
  };
}

describe("whole stacks over faulty links, fixed seeds", () => {
  const faults = {
    drop: 0.05,
    duplicate: 0.02,
    reorder: 0.05,
    corrupt: 0.01,
    delayMs: 5,
    jitterMs: 2,
  };
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: 300 KB up and 150 KB down arrive byte-exact and both ends close`, async () => {
      const r = await transfer(seed, 300_000, { ...faults, seed });
      expect(r.server).toBe(r.up);
      expect(r.client).toBe(r.down);
      // The faults really happened, and the stacks repaired them.
      expect(r.faults.dropped).toBeGreaterThan(0);
      expect(r.faults.duplicated).toBeGreaterThan(0);
      expect(r.faults.reordered).toBeGreaterThan(0);
      expect(r.faults.corrupted).toBeGreaterThan(0);
      expect(r.retransmits).toBeGreaterThan(0);
    });
  }

  it("survives 20% loss both ways", async () => {
    const r = await transfer(42, 100_000, { drop: 0.2, seed: 42 });
    expect(r.faults.dropped).toBeGreaterThan(20);
    expect(r.server).toBe(r.up);
    expect(r.client).toBe(r.down);
  });
});
