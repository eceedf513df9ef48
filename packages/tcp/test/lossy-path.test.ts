// A measurement as much as a test: two engines over a 1 Gbit/s path with a 1 ms RTT and 5 %
// random loss in each direction (data and ACKs alike, as the nft rules of driver-tap's
// stack-loss test drop frames), moving 8 MiB, with each loss recovery. What it reports is how
// well recovery works: retransmissions per segment the path dropped (1.0 is the floor: every
// drop repaired once, nothing resent that had arrived), retransmission timeouts, and the
// virtual time taken. It checks the transfers are byte-exact and the figures stay near.
import { describe, expect, it } from "vitest";
import type { TcpConfig } from "../src/index.js";
import { fnv, pattern, rng, Sim, Transfer } from "./sim.js";

const A = 0x0a000001;
const B = 0x0a000002;
const SIZE = 8 << 20;

export interface LossyOutcome {
  exact: boolean;
  /** Data segments from the sender the path dropped. */
  dataDrops: number;
  /** Segments from the receiver (ACKs) the path dropped. */
  ackDrops: number;
  retransmits: number;
  timeouts: number;
  fastRecoveries: number;
  /** Virtual time from the first byte written to the last byte read, ms. */
  ms: number;
}

/** One 8 MiB transfer A → B at `loss` each way, seeded. */
export function lossyTransfer(seed: number, config: Partial<TcpConfig>, loss = 0.05): LossyOutcome {
  const random = rng(seed * 104729);
  let dataDrops = 0;
  let ackDrops = 0;
  const sim = new Sim(
    {
      delay: 0.5,
      rate: 125_000,
      dropIf: (seg, from) => {
        // Nothing of the handshake is dropped, so that every seed measures the transfer itself.
        if (seg.syn || random() >= loss) return false;
        if (from === A && seg.payloadLength > 0) dataDrops++;
        else ackDrops++;
        return true;
      },
    },
    seed,
  );
  const options = { msl: 500, ...config };
  const a = sim.host(A, options);
  const b = sim.host(B, options);
  b.listen(80);
  const client = a.connect(b, 80, 40000 + seed);
  const data = pattern(SIZE, seed);
  const t = new Transfer(sim, data, client, undefined, true);
  let started = -1;
  let finished = -1;
  sim.run(() => t.readerDone && a.conns.size === 0 && b.conns.size === 0, {
    maxTime: 3_600_000,
    maxSteps: 5_000_000,
    onStep: () => {
      if (t.reader === undefined && b.accepted.length > 0) t.reader = b.accepted[0];
      if (started < 0 && client.state === "ESTABLISHED") started = sim.now;
      t.hook();
      if (finished < 0 && t.readerDone) finished = sim.now;
    },
  });
  const st = client.status();
  return {
    exact: t.received.n === data.length && t.received.h === fnv(data),
    dataDrops,
    ackDrops,
    retransmits: st.retransmits,
    timeouts: st.timeouts,
    fastRecoveries: st.fastRecoveries,
    ms: finished - started,
  };
}

/** Sums over seeds 1..n. */
export function lossySeeds(n: number, config: Partial<TcpConfig>, loss = 0.05) {
  const sum = { exact: 0, dataDrops: 0, ackDrops: 0, retransmits: 0, timeouts: 0, fastRecoveries: 0, ms: 0 };
  for (let seed = 1; seed <= n; seed++) {
    const o = lossyTransfer(seed, config, loss);
    sum.exact += o.exact ? 1 : 0;
    sum.dataDrops += o.dataDrops;
    sum.ackDrops += o.ackDrops;
    sum.retransmits += o.retransmits;
    sum.timeouts += o.timeouts;
    sum.fastRecoveries += o.fastRecoveries;
    sum.ms += o.ms;
  }
  return sum;
}

describe("8 MiB over a 1 ms, 1 Gbit/s path with 5 % random loss each way", () => {
  const SEEDS = 5;
  const report = (name: string, s: ReturnType<typeof lossySeeds>) =>
    console.log(
      `${name}, 5% loss each way, ${SEEDS} seeds × 8 MiB: ${s.dataDrops} data segments dropped (and ${s.ackDrops} ACKs), ` +
        `${s.retransmits} retransmitted (${(s.retransmits / s.dataDrops).toFixed(3)} per drop), ` +
        `${s.timeouts} timeouts, ${s.fastRecoveries} fast recoveries, ${(s.ms / SEEDS).toFixed(0)} ms each`,
    );

  it("RACK-TLP: about one retransmission per drop, lost retransmissions found without timeouts", () => {
    const s = lossySeeds(SEEDS, {});
    report("rack", s);
    expect(s.exact).toBe(SEEDS);
    expect(s.retransmits / s.dataDrops).toBeLessThan(1.02);
    // Timeouts remain only where everything after a loss was lost too (7 in 5 × 8 MiB when
    // written; RFC 6675 alone takes 58).
    expect(s.timeouts).toBeLessThanOrEqual(SEEDS * 3);
  });

  it("RFC 6675: about one retransmission per drop; a lost retransmission waits for the RTO", () => {
    const s = lossySeeds(SEEDS, { recovery: "rfc6675" });
    report("rfc6675", s);
    expect(s.exact).toBe(SEEDS);
    expect(s.retransmits / s.dataDrops).toBeLessThan(1.02);
    expect(s.timeouts).toBeGreaterThan(SEEDS * 3);
  });
});
