// The equivalent of chiTCP's graded test catalogue: establishment, teardown (active, passive,
// simultaneous), data transfer of many sizes, persist, unreliable establishment/teardown/
// transfer with single, multiple and random drops at fixed seeds, and out-of-order delivery.
// Two engines, the simulated path of sim.ts, virtual time.
import { describe, expect, it } from "vitest";
import type { TcpConfig, TcpConnection } from "../src/index.js";
import { TcpFlag } from "../src/index.js";
import { fnv, forceIss, type Host, type PathFaults, pattern, Sim, Transfer } from "./sim.js";

const A = 0x0a000001;
const B = 0x0a000002;

interface Run {
  sim: Sim;
  a: Host;
  b: Host;
  client: TcpConnection;
  server: () => TcpConnection | undefined;
}

function pair(faults: PathFaults = {}, seed = 1, config: Partial<TcpConfig> = {}): Run {
  const sim = new Sim({ delay: 10, ...faults }, seed);
  const a = sim.host(A, { msl: 2000, ...config });
  const b = sim.host(B, { msl: 2000, ...config });
  b.listen(80);
  const client = a.connect(b, 80, 40000);
  return { sim, a, b, client, server: () => b.accepted[0] };
}

/** Client sends `up` bytes, server sends `down` bytes, each shuts down after sending; both read everything. */
function exchange(
  r: Run,
  up: Uint8Array,
  down: Uint8Array,
  limits = { maxTime: 600_000, maxSteps: 500_000 },
) {
  const t1 = new Transfer(r.sim, up, r.client, undefined, false);
  const t2 = new Transfer(r.sim, down, undefined, r.client, false);
  const ok = r.sim.run(() => t1.readerDone && t2.readerDone && r.a.conns.size === 0 && r.b.conns.size === 0, {
    ...limits,
    onStep: () => {
      const s = r.server();
      if (s !== undefined) {
        t1.reader = s;
        t2.writer = s;
      }
      t1.hook();
      t2.hook();
    },
  });
  return { ok, t1, t2 };
}

function expectExact(t: Transfer, data: Uint8Array) {
  expect(t.received.n).toBe(data.length);
  expect(t.received.h).toBe(fnv(data));
}

describe("connection establishment", () => {
  it("three-way handshake: the client is ESTABLISHED after one RTT, the server half an RTT later", () => {
    const r = pair();
    r.sim.run(() => r.client.state === "ESTABLISHED");
    expect(r.sim.now).toBe(20);
    expect(r.server()!.state).toBe("SYN-RECEIVED");
    r.sim.run(() => r.server()?.state === "ESTABLISHED");
    expect(r.sim.now).toBe(30);
    expect(r.sim.sent).toBe(3);
  });

  it("simultaneous open between two active opens", () => {
    const sim = new Sim({ delay: 10 });
    const a = sim.host(A);
    const b = sim.host(B);
    const ca = a.connect(b, 5001, 5000);
    const cb = b.connect(a, 5000, 5001);
    sim.run(() => ca.state === "ESTABLISHED" && cb.state === "ESTABLISHED", { maxTime: 10_000 });
    expect([ca.state, cb.state]).toEqual(["ESTABLISHED", "ESTABLISHED"]);
  });

  it("connecting to a closed port: ECONNREFUSED from the RST", () => {
    const sim = new Sim({ delay: 10 });
    const a = sim.host(A);
    const b = sim.host(B);
    const c = a.connect(b, 81, 40000);
    sim.run(() => c.state === "CLOSED");
    expect(c.error).toBe("ECONNREFUSED");
  });
});

describe("connection teardown", () => {
  it("active close by the client, passive by the server: TIME-WAIT on the client only", () => {
    const r = pair();
    const { ok } = exchange(r, pattern(100), new Uint8Array(0));
    expect(ok).toBe(true);
    expect(r.client.state).toBe("CLOSED");
    expect(r.client.error).toBeUndefined();
    expect(r.server()!.error).toBeUndefined();
  });

  it("simultaneous close: both go through CLOSING to TIME-WAIT", () => {
    const r = pair();
    r.sim.run(() => r.server()?.state === "ESTABLISHED");
    const s = r.server()!;
    r.client.shutdown(r.sim.now);
    s.shutdown(r.sim.now);
    const seen = new Set<string>();
    r.sim.run(() => r.a.conns.size === 0 && r.b.conns.size === 0, {
      onStep: () => {
        seen.add(`a:${r.client.state}`);
        seen.add(`b:${s.state}`);
      },
    });
    expect([...seen].filter((x) => x.includes("CLOSING") || x.includes("TIME-WAIT")).sort()).toEqual([
      "a:CLOSING",
      "a:TIME-WAIT",
      "b:CLOSING",
      "b:TIME-WAIT",
    ]);
    expect([r.client.error, s.error]).toEqual([undefined, undefined]);
  });

  it("server closes first: the server ends in TIME-WAIT", () => {
    const r = pair();
    r.sim.run(() => r.server()?.state === "ESTABLISHED");
    const s = r.server()!;
    s.close(r.sim.now);
    let serverTimeWait = false;
    r.sim.run(() => r.client.state === "CLOSE-WAIT");
    r.client.close(r.sim.now);
    r.sim.run(() => r.a.conns.size === 0 && r.b.conns.size === 0, {
      onStep: () => {
        if (s.state === "TIME-WAIT") serverTimeWait = true;
      },
    });
    expect(serverTimeWait).toBe(true);
  });
});

describe("data transfer, sizes around MSS and buffer multiples", () => {
  const MSS = 1448; // 1460 minus the timestamps option
  const BUF = 256 * 1024;
  for (const n of [
    1,
    2,
    MSS - 1,
    MSS,
    MSS + 1,
    2 * MSS,
    10 * MSS + 7,
    65535,
    65536,
    BUF - 1,
    BUF,
    BUF + 1,
    2 * BUF,
    3 * 1024 * 1024,
  ]) {
    it(`${n} bytes each way, byte-exact`, () => {
      const up = pattern(n, n);
      const down = pattern(Math.min(n, 100_000), n + 1);
      const r = pair();
      const { ok, t1, t2 } = exchange(r, up, down);
      expect(ok).toBe(true);
      expectExact(t1, up);
      expectExact(t2, down);
    });
  }

  it("with NewReno, no timestamps and no SACK as well", () => {
    const up = pattern(300_000, 3);
    const r = pair({ loss: 0.03 }, 9, { congestionControl: "newreno", timestamps: false, sack: false });
    const { ok, t1 } = exchange(r, up, new Uint8Array(0));
    expect(ok).toBe(true);
    expectExact(t1, up);
    expect(r.client.status().retransmits).toBeGreaterThan(0);
  });
});

describe("persist", () => {
  it("zero window while the reader sleeps, probes, then the window reopens and the transfer completes", () => {
    const up = pattern(200_000, 5);
    const r = pair({}, 1, { receiveBufferSize: 16 * 1024 });
    const t = new Transfer(r.sim, up, r.client, undefined, true);
    const ok = r.sim.run(() => t.readerDone && r.a.conns.size === 0 && r.b.conns.size === 0, {
      onStep: () => {
        if (t.reader === undefined && r.server() !== undefined) t.reader = r.server();
        // The application does not read for the first 5 seconds.
        const reader = t.reader;
        if (r.sim.now < 5000) t.reader = undefined;
        t.hook();
        t.reader = reader;
      },
    });
    expect(ok).toBe(true);
    expect(t.received.n).toBe(up.length);
    expect(t.received.h).toBe(fnv(up));
    expect(r.client.status().windowProbes).toBeGreaterThan(0);
    expect(r.client.error).toBeUndefined();
  });
});

const isFrom = (who: number, flag: number, nth = 1) => {
  let count = 0;
  return (seg: { flags: number; payloadLength: number }, from: number) => {
    if (from !== who || (seg.flags & flag) === 0) return false;
    count++;
    return count === nth;
  };
};

describe("unreliable establishment", () => {
  for (const [name, dropNth] of [
    ["SYN lost", [1]],
    ["SYN-ACK lost", [2]],
    ["final ACK lost", [3]],
    ["SYN and SYN-ACK lost", [1, 3]],
    ["SYN lost twice", [1, 2]],
  ] as const) {
    it(`${name}: still connects and transfers`, () => {
      const up = pattern(10_000, 1);
      const r = pair({ dropNth: [...dropNth] });
      const { ok, t1 } = exchange(r, up, pattern(10, 2));
      expect(ok).toBe(true);
      expectExact(t1, up);
    });
  }
});

describe("unreliable teardown", () => {
  for (const [name, rule] of [
    ["client FIN lost", isFrom(A, TcpFlag.FIN)],
    ["server FIN lost", isFrom(B, TcpFlag.FIN)],
    [
      "both FINs lost",
      (() => {
        const x = isFrom(A, TcpFlag.FIN);
        const y = isFrom(B, TcpFlag.FIN);
        return (s: { flags: number; payloadLength: number }, f: number) => x(s, f) || y(s, f);
      })(),
    ],
  ] as const) {
    it(`${name}: both sides still close cleanly`, () => {
      const r = pair({ dropIf: rule as never });
      const { ok } = exchange(r, pattern(5000), pattern(5000, 3));
      expect(ok).toBe(true);
      expect(r.sim.droppedByRule).toBeGreaterThan(0);
      expect([r.client.error, r.server()!.error]).toEqual([undefined, undefined]);
    });
  }
  it("last ACK lost: the peer retransmits its FIN into TIME-WAIT and still closes", () => {
    let finsFromB = 0;
    const r = pair({
      dropIf: (s, from) => {
        if (from === B && s.flags & TcpFlag.FIN) finsFromB++;
        return from === A && finsFromB === 1 && s.flags === TcpFlag.ACK && s.payloadLength === 0;
      },
    });
    const { ok } = exchange(r, pattern(100), pattern(100, 2));
    expect(ok).toBe(true);
    expect(finsFromB).toBeGreaterThan(1);
  });
});

describe("unreliable data transfer", () => {
  it("a single data segment lost", () => {
    let n = 0;
    const up = pattern(100_000, 11);
    const r = pair({ dropIf: (s, from) => from === A && s.payloadLength > 0 && ++n === 5 });
    const { ok, t1 } = exchange(r, up, new Uint8Array(0));
    expect(ok).toBe(true);
    expectExact(t1, up);
    expect(r.client.status().retransmits).toBeGreaterThanOrEqual(1);
  });
  it("several data segments lost in one window", () => {
    let n = 0;
    const up = pattern(200_000, 12);
    const r = pair({
      dropIf: (s, from) => from === A && s.payloadLength > 0 && [3, 5, 6, 9, 20].includes(++n),
    });
    const { ok, t1 } = exchange(r, up, new Uint8Array(0));
    expect(ok).toBe(true);
    expectExact(t1, up);
    expect(r.client.status().fastRecoveries).toBeGreaterThanOrEqual(1);
  });
  it("the last data segment lost (tail loss: repaired by a tail loss probe, no RTO)", () => {
    const up = pattern(20_000, 13);
    let last = -1;
    const r = pair({
      dropIf: (s, from) => from === A && s.payloadLength > 0 && s.payloadLength < 1448 && ++last === 0,
    });
    const { ok, t1 } = exchange(r, up, new Uint8Array(0));
    expect(ok).toBe(true);
    expectExact(t1, up);
    expect(r.client.status().timeouts).toBe(0);
    expect(r.client.status().lossProbes).toBeGreaterThanOrEqual(1);
  });
  it("the last data segment lost, RFC 6675 recovery (tail loss: recovered by the RTO)", () => {
    const up = pattern(20_000, 13);
    let last = -1;
    const r = pair(
      { dropIf: (s, from) => from === A && s.payloadLength > 0 && s.payloadLength < 1448 && ++last === 0 },
      1,
      { recovery: "rfc6675" },
    );
    const { ok, t1 } = exchange(r, up, new Uint8Array(0));
    expect(ok).toBe(true);
    expectExact(t1, up);
    expect(r.client.status().timeouts).toBeGreaterThanOrEqual(1);
  });
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`random drops of 10% both ways, seed ${seed}`, () => {
      const up = pattern(150_000, seed);
      const down = pattern(50_000, seed + 100);
      const r = pair({ loss: 0.1 }, seed);
      const { ok, t1, t2 } = exchange(r, up, down);
      expect(ok).toBe(true);
      expectExact(t1, up);
      expectExact(t2, down);
    });
  }
});

describe("out-of-order delivery", () => {
  for (const seed of [1, 2, 3]) {
    it(`heavy reordering, seed ${seed}`, () => {
      const up = pattern(300_000, seed);
      const r = pair({ reorder: 0.3, jitter: 30 }, seed);
      const { ok, t1 } = exchange(r, up, new Uint8Array(0));
      expect(ok).toBe(true);
      expectExact(t1, up);
      expect(r.server()!.status().outOfOrder).toBeGreaterThan(0);
    });
  }
});

describe("sequence numbers wrapping around 2^32", () => {
  for (const cc of ["cubic", "newreno"] as const) {
    it(`both ISNs just below 2^32, 5% loss, ${cc}: byte-exact both ways`, () => {
      const up = pattern(400_000, 77);
      const down = pattern(300_000, 78);
      const r = pair({ loss: 0.05, reorder: 0.1, jitter: 10 }, 77, { congestionControl: cc });
      forceIss(r.client, 0xffffffff - 1000);
      r.b.onAccept = (c) => forceIss(c, 0xffffffff - 5000);
      const { ok, t1, t2 } = exchange(r, up, down);
      expect(ok).toBe(true);
      expectExact(t1, up);
      expectExact(t2, down);
      // Both directions crossed zero.
      expect(r.client.sndMax).toBeLessThan(0x80000000);
      expect(r.server()!.sndMax).toBeLessThan(0x80000000);
    });
  }
});

describe("many connections and SYN cookies end to end", () => {
  it("40 clients at once against a SYN queue of 4: cookies complete the rest, every upload arrives", () => {
    const sim = new Sim({ delay: 10, loss: 0.03 }, 5);
    const a = sim.host(A, { msl: 500 });
    const b = sim.host(B, { msl: 500 });
    const l = b.listen(80, { synQueueSize: 4, backlog: 64 });
    const clients = Array.from({ length: 40 }, (_, i) => ({
      c: a.connect(b, 80, 30000 + i),
      data: pattern(5000 + i * 100, i),
      sent: 0,
      shut: false,
    }));
    const reading = new Map<number, number[]>();
    const got = new Map<number, { fnv: number; n: number }>();
    const rbuf = new Uint8Array(65536);
    const servers: TcpConnection[] = [];
    const ok = sim.run(() => a.conns.size === 0 && b.conns.size === 0 && got.size === 40, {
      maxTime: 600_000,
      onStep: () => {
        for (const k of clients) {
          if (k.c.state !== "ESTABLISHED") continue;
          while (k.sent < k.data.length) {
            const n = k.c.write(k.data.subarray(k.sent), sim.now);
            if (n <= 0) break;
            k.sent += n;
          }
          if (k.sent === k.data.length && !k.shut) {
            k.c.shutdown(sim.now);
            k.shut = true;
          }
        }
        for (let s = l.accept(); s !== undefined; s = l.accept()) servers.push(s);
        for (const s of servers) {
          const bytes = reading.get(s.remotePort) ?? [];
          reading.set(s.remotePort, bytes);
          for (;;) {
            const n = s.read(rbuf, sim.now);
            if (n <= 0) break;
            for (let i = 0; i < n; i++) bytes.push(rbuf[i]!);
          }
          if (s.readEnded && s.state === "CLOSE-WAIT") {
            got.set(s.remotePort, { fnv: fnv(Uint8Array.from(bytes)), n: bytes.length });
            s.close(sim.now);
          }
        }
      },
    });
    expect(ok).toBe(true);
    for (const [i, k] of clients.entries()) {
      expect(got.get(30000 + i)?.n).toBe(k.data.length);
      expect(got.get(30000 + i)?.fnv).toBe(fnv(k.data));
      expect(k.c.error).toBeUndefined();
    }
    expect(l.stats.cookiesAccepted).toBeGreaterThan(0);
    expect(l.stats.cookiesAccepted + l.stats.synReceived).toBeGreaterThanOrEqual(40);
  });
});
