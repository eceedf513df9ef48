import { toHex } from "@userstack/wire";
import { describe, expect, it } from "vitest";
import { frame, LogReceiver, mac, tagOf } from "../test/frames.js";
import type { FaultEvent } from "./fault-lane.js";
import { type FaultOptions, withFaults } from "./faults.js";
import { memoryPair } from "./memory-pair.js";
import { VirtualClock } from "./virtual-clock.js";

/** A pair whose `a` end sends through faults; returns what `b` received. */
function run(n: number, faults: Omit<FaultOptions, "clock">, spacingMs = 0.01) {
  const clock = new VirtualClock();
  const [a, b] = memoryPair({ clock, queueLimit: 100_000 });
  const trace: FaultEvent[] = [];
  const fa = withFaults(a, { ...faults, clock, trace: (e) => trace.push(e) });
  const rb = new LogReceiver();
  b.attach(rb);
  const sent: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const f = frame(mac(2), mac(1), i, 60 + (i % 200));
    for (let j = 16; j < f.length; j++) f[j] = (i * 31 + j) & 0xff;
    sent.push(f);
    fa.send(f);
    clock.advance(spacingMs);
  }
  clock.runUntilIdle();
  return { stats: fa.stats.send, received: rb.frames, tags: rb.tags, trace, sent };
}

const N = 20_000;

describe("withFaults: rates over many frames", () => {
  for (const seed of [1, 2, 3]) {
    it(`drops, duplicates and corrupts at the configured rates (seed ${seed})`, () => {
      const r = run(N, { seed, drop: 0.1, duplicate: 0.05, corrupt: 0.2 });
      const s = r.stats;
      // 20,000 Bernoulli trials: one standard deviation of a 10% rate is 0.21 points; allow ~5.
      expect(s.dropped / N).toBeGreaterThan(0.09);
      expect(s.dropped / N).toBeLessThan(0.11);
      const passed = N - s.dropped;
      expect(s.duplicated / passed).toBeGreaterThan(0.043);
      expect(s.duplicated / passed).toBeLessThan(0.057);
      expect(s.corrupted / passed).toBeGreaterThan(0.185);
      expect(s.corrupted / passed).toBeLessThan(0.215);
      expect(s.delivered).toBe(passed + s.duplicated);
      expect(r.received.length).toBe(s.delivered);
      expect(r.trace.filter((e) => e.kind === "drop" && e.reason === "random").length).toBe(s.dropped);
    });
  }

  it("reorders at p/(1+p) of frames, as holding one frame at a time implies", () => {
    const p = 0.1;
    const r = run(N, { seed: 9, reorder: p });
    const frac = r.stats.reordered / N;
    expect(frac).toBeGreaterThan(p / (1 + p) - 0.01);
    expect(frac).toBeLessThan(p / (1 + p) + 0.01);
    // Each reordering swaps a frame with its successor: count the inversions actually seen.
    let inversions = 0;
    for (let i = 1; i < r.tags.length; i++) if (r.tags[i]! < r.tags[i - 1]!) inversions++;
    expect(inversions).toBe(r.stats.reordered);
    expect([...r.tags].sort((x, y) => x - y)).toEqual(r.sent.map(tagOf));
  });
});

describe("withFaults: replay and effects", () => {
  it("replays identically for the same seed and differs for another", () => {
    const opts = { drop: 0.2, duplicate: 0.1, corrupt: 0.1, reorder: 0.1, delayMs: 3, jitterMs: 2 };
    const x = run(2000, { seed: 42, ...opts });
    const y = run(2000, { seed: 42, ...opts });
    const z = run(2000, { seed: 43, ...opts });
    expect(y.trace).toEqual(x.trace);
    const hex = (r: { received: Uint8Array[] }) => r.received.map(toHex).join(",");
    expect(hex(y)).toBe(hex(x));
    expect(z.tags).not.toEqual(x.tags);
  });

  it("keeps one fault's decisions when another fault's probability changes", () => {
    const a = run(2000, { seed: 5, drop: 0.1 });
    const b = run(2000, { seed: 5, drop: 0.1, corrupt: 0.5 });
    const drops = (t: FaultEvent[]) => t.filter((e) => e.kind === "drop").map((e) => e.time);
    expect(drops(b.trace)).toEqual(drops(a.trace));
    expect(b.stats.corrupted).toBeGreaterThan(800);
  });

  it("changes exactly one byte of each corrupted frame", () => {
    const r = run(5000, { seed: 3, corrupt: 0.3 });
    let changed = 0;
    r.received.forEach((got, i) => {
      const want = r.sent[i]!;
      expect(got.length).toBe(want.length);
      let diff = 0;
      for (let j = 0; j < got.length; j++) if (got[j] !== want[j]) diff++;
      expect(diff).toBeLessThanOrEqual(1);
      changed += diff;
    });
    expect(changed).toBe(r.stats.corrupted);
    const events = r.trace.filter((e) => e.kind === "corrupt");
    expect(events.length).toBe(r.stats.corrupted);
    expect(changed).toBeGreaterThan(1300);
  });

  it("delays every frame by delayMs ± jitterMs and reorders through jitter", () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    const fa = withFaults(a, { seed: 1, delayMs: 20, jitterMs: 5, clock });
    const arrivals: number[] = [];
    const order: number[] = [];
    b.attach({
      receive: (f) => {
        const sentAt = tagOf(f); // frame i is sent at t = i ms
        arrivals.push(clock.now() - sentAt);
        order.push(sentAt);
      },
      flush() {},
    });
    for (let i = 0; i < 1000; i++) {
      fa.send(frame(mac(2), mac(1), i));
      clock.advance(1);
    }
    clock.runUntilIdle();
    expect(Math.min(...arrivals)).toBeGreaterThanOrEqual(15);
    expect(Math.max(...arrivals)).toBeLessThanOrEqual(25);
    const mean = arrivals.reduce((s, x) => s + x, 0) / arrivals.length;
    expect(mean).toBeGreaterThan(19.5);
    expect(mean).toBeLessThan(20.5);
    expect(order).not.toEqual([...order].sort((x, y) => x - y));
  });

  it("swaps a held frame with its successor, and releases a lone one after reorderHoldMs", () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    const fa = withFaults(a, { seed: 1, reorder: 1, reorderHoldMs: 7, clock });
    const rb = new LogReceiver(() => clock.now());
    b.attach(rb);
    for (const t of [1, 2, 3, 4, 5]) fa.send(frame(mac(2), mac(1), t));
    clock.runUntilIdle();
    expect(rb.tags).toEqual([2, 1, 4, 3, 5]);
    expect(rb.log.at(-2)).toBe("recv:5@7");
    expect(fa.stats.send.reordered).toBe(2);
  });
});

describe("withFaults: rate limit", () => {
  it("spaces frames by their serialisation time and tail-drops past the queue", () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    const trace: FaultEvent[] = [];
    // 1 Mbit/s: a 1000-byte frame takes 8 ms. The queue holds 3000 bytes waiting.
    const fa = withFaults(a, {
      seed: 1,
      rate: { bitsPerSecond: 1_000_000, queueBytes: 3000 },
      clock,
      trace: (e) => trace.push(e),
    });
    const rb = new LogReceiver(() => clock.now());
    b.attach(rb);
    for (let i = 0; i < 5; i++) fa.send(frame(mac(2), mac(1), i, 1000));
    clock.advance(10); // backlog now 14 ms = 1750 bytes: one more fits
    fa.send(frame(mac(2), mac(1), 5, 1000));
    clock.runUntilIdle();
    expect(rb.log.filter((l) => l !== "flush")).toEqual(["recv:0@8", "recv:1@16", "recv:2@24", "recv:5@32"]);
    expect(fa.stats.send.queueFull).toBe(2);
    expect(trace.filter((e) => e.kind === "drop").map((e) => (e.kind === "drop" ? e.reason : ""))).toEqual([
      "queue-full",
      "queue-full",
    ]);
  });

  it("holds the configured throughput over a long run", () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock, queueLimit: 10_000 });
    const fa = withFaults(a, {
      seed: 1,
      rate: { bitsPerSecond: 100e6, queueBytes: 1 << 30 },
      limit: 10_000,
      clock,
    });
    let bytes = 0;
    b.attach({ receive: (f) => (bytes += f.length), flush() {} });
    for (let i = 0; i < 5000; i++) fa.send(frame(mac(2), mac(1), i, 1250));
    clock.runUntilIdle();
    expect(bytes).toBe(5000 * 1250);
    expect(clock.now()).toBeCloseTo(((5000 * 1250 * 8) / 100e6) * 1000, 6); // 500 ms exactly
  });
});

describe("withFaults: directions, limits and close", () => {
  it("applies faults to received frames too, separately from sent ones", () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    const fa = withFaults(a, { seed: 1, clock, receive: { drop: 1 } });
    const ra = new LogReceiver();
    const rb = new LogReceiver();
    fa.attach(ra);
    b.attach(rb);
    fa.send(frame(mac(2), mac(1), 1));
    b.send(frame(mac(1), mac(2), 2));
    clock.runUntilIdle();
    expect(rb.tags).toEqual([1]);
    expect(ra.tags).toEqual([]);
    expect(fa.stats.receive.dropped).toBe(1);
    expect(fa.stats.send.dropped).toBe(0);
  });

  it("passes the inner link's batches through when no fault needs time", () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    const fb = withFaults(b, { seed: 1, clock, drop: 0.5 });
    const rb = new LogReceiver();
    fb.attach(rb);
    for (let i = 0; i < 8; i++) a.send(frame(mac(2), mac(1), i));
    clock.runUntilIdle();
    expect(rb.log.filter((l) => l === "flush").length).toBe(1);
    expect(rb.log.at(-1)).toBe("flush");
    expect(rb.frames.length).toBe(8 - fb.stats.receive.dropped);
  });

  it("drops frames over maxFrameLength or over the hold limit, and what is held at close", async () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    const trace: FaultEvent[] = [];
    const fa = withFaults(a, {
      seed: 1,
      clock,
      delayMs: 5,
      limit: 3,
      maxFrameLength: 100,
      trace: (e) => trace.push(e),
    });
    b.attach(new LogReceiver());
    fa.send(frame(mac(2), mac(1), 0, 101));
    for (let i = 1; i <= 5; i++) fa.send(frame(mac(2), mac(1), i));
    await fa.close();
    expect(fa.stats.send).toMatchObject({ tooLarge: 1, overLimit: 2, closed: 3, delivered: 0 });
    expect(trace.map((e) => (e.kind === "drop" ? e.reason : e.kind))).toEqual([
      "too-large",
      "limit",
      "limit",
      "closed",
      "closed",
      "closed",
    ]);
    expect(clock.pending).toBe(0);
  });

  it("refuses a probability outside 0..1 with a clear message", () => {
    const [a] = memoryPair({ clock: new VirtualClock() });
    expect(() => withFaults(a, { seed: 1, clock: new VirtualClock(), drop: 5 })).toThrow(
      "withFaults: drop is a probability between 0 and 1, not 5",
    );
  });
});
