import { describe, expect, it } from "vitest";
import { fnv, pattern, Sim, Transfer } from "./sim.js";

const A = 0x0a000001;
const B = 0x0a000002;

describe("two engines, lossless", () => {
  it("transfers 100 kB and closes", () => {
    const sim = new Sim({ delay: 5 });
    const a = sim.host(A, { msl: 1000 });
    const b = sim.host(B, { msl: 1000 });
    b.listen(80);
    const c = a.connect(b, 80, 40000);
    const data = pattern(100_000);
    const t = new Transfer(sim, data, c, undefined);
    const ok = sim.run(() => t.readerDone && a.conns.size === 0 && b.conns.size === 0, {
      onStep: () => {
        if (t.reader === undefined && b.accepted.length > 0) t.reader = b.accepted[0];
        t.hook();
      },
      maxTime: 600_000,
    });
    expect(ok).toBe(true);
    expect(t.received.n).toBe(data.length);
    expect(t.received.h).toBe(fnv(data));
  });
});
