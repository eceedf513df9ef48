// Two engines through a hostile path — loss 0–30%, duplication, reordering, delay and
// corruption — over 120 fixed seeds, once with each loss recovery (RACK-TLP and RFC 6675):
// every transfer arrives byte-exact (hashed at both ends), both connections close cleanly, and
// no seed runs past its bounds on virtual time or steps.
import { describe, expect, it } from "vitest";
import type { LossRecoveryName } from "../src/index.js";
import { fnv, pattern, rng, Sim, Transfer } from "./sim.js";

const A = 0x0a000001;
const B = 0x0a000002;
const SEEDS = Number(process.env.SEEDS ?? 120);

interface Outcome {
  seed: number;
  ok: boolean;
  exact: boolean;
  clean: boolean;
  /** Segments larger than the MTU (an IP layer drops them). */
  oversize: number;
  detail: string;
}

function runSeed(seed: number, recovery: LossRecoveryName): Outcome {
  const r = rng(seed * 7919);
  const loss = (seed % 7) * 0.05; // 0 … 30 %
  const faults = {
    loss,
    duplicate: r() * 0.1,
    reorder: r() * 0.3,
    jitter: 1 + r() * 40,
    corrupt: r() * 0.05,
    delay: 1 + Math.floor(r() * 50),
  };
  const sim = new Sim(faults, seed);
  const cc = seed % 2 === 0 ? "cubic" : "newreno";
  const options = {
    msl: 500,
    congestionControl: cc,
    recovery,
    sack: seed % 3 !== 0,
    timestamps: seed % 5 !== 0,
    // Keep heavy-loss seeds from giving up: the point is that data arrives, however slowly.
    maxRetries: 30,
    synRetries: 30,
    synAckRetries: 30,
  } as const;
  const a = sim.host(A, options);
  const b = sim.host(B, options);
  b.listen(80);
  const client = a.connect(b, 80, 40000 + seed);
  const up = pattern(Math.floor(r() * 120_000), seed);
  const down = pattern(Math.floor(r() * 60_000), seed + 1000);
  const t1 = new Transfer(sim, up, client, undefined, false);
  const t2 = new Transfer(sim, down, undefined, client, false);
  const ok = sim.run(() => t1.readerDone && t2.readerDone && a.conns.size === 0 && b.conns.size === 0, {
    maxTime: 4 * 3600_000,
    maxSteps: 200_000,
    onStep: () => {
      const s = b.accepted[0];
      if (s !== undefined) {
        t1.reader = s;
        t2.writer = s;
      }
      t1.hook();
      t2.hook();
    },
  });
  const server = b.accepted[0];
  const exact =
    t1.received.n === up.length &&
    t1.received.h === fnv(up) &&
    t2.received.n === down.length &&
    t2.received.h === fnv(down);
  const clean =
    client.state === "CLOSED" &&
    client.error === undefined &&
    server?.state === "CLOSED" &&
    server.error === undefined;
  return {
    seed,
    ok,
    exact,
    clean,
    oversize: sim.oversize,
    detail: `oversize=${sim.oversize} loss=${loss.toFixed(2)} cc=${cc} t=${sim.now.toFixed(0)}ms steps=${sim.steps} up=${t1.received.n}/${up.length} down=${t2.received.n}/${down.length} client=${client.state}/${client.error} server=${server?.state}/${server?.error} corrupted-dropped=${sim.malformed}`,
  };
}

describe("two engines over a lossy, duplicating, reordering, corrupting path", () => {
  for (const recovery of ["rack", "rfc6675"] as const) {
    it(`${SEEDS} seeds, ${recovery} recovery: byte-exact both ways, clean close, no hang`, () => {
      const bad: string[] = [];
      let malformedSeen = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        const o = runSeed(seed, recovery);
        if (!(o.ok && o.exact && o.clean && o.oversize === 0)) bad.push(`seed ${seed}: ${o.detail}`);
        if (o.detail.includes("corrupted-dropped=0") === false) malformedSeen++;
      }
      expect(bad).toEqual([]);
      // The corruption really happened and was caught by the checksum on many seeds.
      expect(malformedSeen).toBeGreaterThan(SEEDS / 2);
    });
  }
});
