import { describe, expect, it } from "vitest";
import { Cubic } from "./cubic.js";
import { NewReno } from "./newreno.js";
import { RttEstimator } from "./rtt-estimator.js";

const MSS = 1000;

describe("NewReno (RFC 5681)", () => {
  it("slow start grows by up to 2 MSS per ACK, congestion avoidance by 1 MSS per window", () => {
    const cc = new NewReno();
    const w = { cwnd: 10 * MSS, ssthresh: Number.POSITIVE_INFINITY, mss: MSS };
    cc.onAck(w, 5 * MSS, 0, 0);
    expect(w.cwnd).toBe(12 * MSS);
    cc.onCongestion(w, 12 * MSS);
    expect(w.ssthresh).toBe(6 * MSS);
    w.cwnd = w.ssthresh;
    for (let i = 0; i < 6; i++) cc.onAck(w, MSS, 0, 0);
    expect(w.cwnd).toBe(7 * MSS);
    cc.onTimeout(w, 7 * MSS);
    expect([w.cwnd, w.ssthresh]).toEqual([MSS, 3500]);
  });
});

describe("CUBIC (RFC 9438)", () => {
  it("cuts to β = 0.7 and grows back to W_max along the cubic, reaching it about K seconds later", () => {
    const cc = new Cubic();
    const w = { cwnd: 100 * MSS, ssthresh: Number.POSITIVE_INFINITY, mss: MSS };
    cc.onCongestion(w);
    expect(w.ssthresh).toBe(70 * MSS);
    w.cwnd = w.ssthresh;
    // K = cbrt(W_max (1 − β) / C) = cbrt(100 × 0.3 / 0.4) ≈ 4.22 s
    const K = Math.cbrt((100 * 0.3) / 0.4);
    let now = 0;
    const rtt = 100;
    while (now < K * 1000 - rtt) {
      cc.onAck(w, w.cwnd, now, rtt); // one window per RTT
      now += rtt;
    }
    expect(w.cwnd / MSS).toBeGreaterThan(95);
    expect(w.cwnd / MSS).toBeLessThan(101);
    // Near W_max the window plateaus (concave region) before probing beyond it (convex).
    const atK = w.cwnd;
    for (let i = 0; i < 5; i++) {
      cc.onAck(w, w.cwnd, now, rtt);
      now += rtt;
    }
    expect(w.cwnd - atK).toBeLessThan(3 * MSS);
    for (let i = 0; i < 40; i++) {
      cc.onAck(w, w.cwnd, now, rtt);
      now += rtt;
    }
    expect(w.cwnd / MSS).toBeGreaterThan(110);
  });
  it("fast convergence lowers W_max when losses repeat below the last maximum (§4.7)", () => {
    const cc = new Cubic();
    const w = { cwnd: 100 * MSS, ssthresh: Number.POSITIVE_INFINITY, mss: MSS };
    cc.onCongestion(w);
    w.cwnd = 80 * MSS;
    cc.onCongestion(w);
    expect(w.ssthresh).toBe(56 * MSS);
  });
});

describe("RttEstimator (RFC 6298)", () => {
  it("follows (2.2)/(2.3), bounds by the minimum, backs off and collapses on a sample", () => {
    const r = new RttEstimator(1000, 200, 120_000);
    expect(r.rto).toBe(1000);
    r.sample(100);
    expect([r.srtt, r.rttvar, r.rto]).toEqual([100, 50, 300]);
    r.sample(200);
    expect(r.rttvar).toBe(0.75 * 50 + 0.25 * 100);
    expect(r.srtt).toBe(0.875 * 100 + 0.125 * 200);
    r.backOff();
    r.backOff();
    expect(r.rto).toBe(4 * (112.5 + 4 * 62.5));
    for (let i = 0; i < 20; i++) r.backOff();
    expect(r.rto).toBe(120_000);
    r.sample(1);
    expect(r.backoff).toBe(0);
    for (let i = 0; i < 50; i++) r.sample(1);
    expect(r.rto).toBe(200);
  });
});

describe("slow start with appropriate byte counting (RFC 3465 §2.2)", () => {
  it("a stretch ACK grows cwnd by L = 2 segments, and the rest does not spill into congestion avoidance", () => {
    for (const cc of [new NewReno(), new Cubic()]) {
      const w = { cwnd: MSS, ssthresh: 70 * MSS, mss: MSS };
      cc.onAck(w, 2000 * MSS, 0, 1); // one ACK for 2000 segments, as after a timeout with SACK kept
      expect(w.cwnd).toBe(3 * MSS);
      // Crossing ssthresh, the remainder does count (RFC 5681 §3.1).
      w.cwnd = 69 * MSS;
      cc.onAck(w, 100 * MSS, 0, 1);
      expect(w.cwnd).toBeGreaterThanOrEqual(70 * MSS);
      expect(w.cwnd).toBeLessThan(72 * MSS);
    }
  });
});
