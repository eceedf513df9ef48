// RACK-TLP (RFC 8985) segment by segment in virtual time, against a scripted peer that SACKs
// (Linux's SYN options: SACK, timestamps, window scale), then two engines dropping one segment at
// every position of a transfer. Segments are 1448 bytes; the peer answers 10 ms after we send.
import { describe, expect, it } from "vitest";
import type { TcpConnection, TcpView } from "../src/index.js";
import { ACK, clientEstablished, type Harness, linuxSynOptions, PEER_ISS } from "./peer.js";
import { fnv, pattern, Sim, Transfer } from "./sim.js";

const M = 1448;
const SACK_TS = linuxSynOptions(100, 0, 7);

/**
 * The peer's ACK: cumulative `ack`, SACK `blocks` (pairs of edges, the most recent first), and a
 * timestamp echoing the TSval we sent at `echoAt` (what the peer's TS.Recent holds).
 */
function peerAck(h: Harness, c: TcpConnection, ack: number, blocks: number[], echoAt: number): void {
  const ts = { kind: 8 as const, tsVal: 1000 + Math.floor(h.now), tsEcr: c.tsNow(echoAt) };
  const options =
    blocks.length > 0 ? [{ kind: 1 as const }, { kind: 1 as const }, { kind: 5 as const, blocks }, ts] : [ts];
  h.send({ seq: PEER_ISS + 1, ack: ack >>> 0, flags: ACK, options, window: 0xffff });
}

/** [offset from s0, payload] of each segment. */
const at = (segs: TcpView[], s0: number) => segs.map((s) => [(s.seq - s0) >>> 0, s.payloadLength]);

/** An established client that sent 10 segments (the initial window) of `total` bytes at t = 0. */
function tenInFlight(total = 10 * M, config = {}) {
  const { h, c } = clientEstablished(config, SACK_TS);
  c.write(new Uint8Array(total), h.now);
  const segs = h.recv();
  expect(segs.length).toBe(10);
  return { h, c, s0: segs[0]!.seq };
}

describe("RACK loss detection (RFC 8985 §6)", () => {
  it("a lost retransmission is detected by the next delivery sent after it, not by a timeout", () => {
    const { h, c, s0 } = tenInFlight(30 * M);
    // t = 10: segment 1 is missing, 2..9 are SACKed: 8 SACKed (≥ DupThresh, no reordering seen)
    // gives a reordering window of 0, and segment 1, sent before the delivered ones with
    // RACK.rtt = 10 ms gone by, is lost at once.
    h.now = 10;
    peerAck(h, c, s0 + M, [s0 + 2 * M, s0 + 10 * M], 0);
    expect(c.inRecovery).toBe(true);
    const first = h.recv();
    // The retransmission, then new data as pipe allows: cwnd is 0.7 × 11 segments, and pipe
    // counts neither the SACKed segments nor the lost one (only its retransmission).
    expect(at(first, s0)).toEqual([
      [M, M],
      [10 * M, M],
      [11 * M, M],
      [12 * M, M],
      [13 * M, M],
      [14 * M, M],
      [15 * M, M],
    ]);
    // t = 20: the new segments, sent after the retransmission, arrive; the retransmission did not.
    h.now = 20;
    peerAck(h, c, s0 + M, [s0 + 10 * M, s0 + 16 * M, s0 + 2 * M, s0 + 10 * M], 10);
    const second = h.recv();
    expect(at(second, s0)[0]).toEqual([M, M]); // segment 1, a third time, at t = 20
    const st = c.status();
    expect(st.lostRetransmits).toBe(1);
    expect(st.timeouts).toBe(0);
    expect(st.fastRecoveries).toBe(1); // one recovery episode for both losses
    // t = 30: everything arrives; recovery ends.
    h.now = 30;
    peerAck(h, c, c.sndMax, [], 20);
    expect(c.inRecovery).toBe(false);
    expect(c.status().timeouts).toBe(0);
  });

  it("reordering within the window is not marked lost: the late segment arrives first", () => {
    const { h, c, s0 } = tenInFlight();
    // t = 10: segment 2 is SACKed, 1 not yet. One SACKed segment: the window is min_RTT/4 =
    // 2.5 ms, so segment 1 (sent at 0, RACK.rtt 10 ms) is not lost before t = 12.5.
    h.now = 10;
    peerAck(h, c, s0 + M, [s0 + 2 * M, s0 + 3 * M], 0);
    expect(c.inRecovery).toBe(false);
    h.recvNothing();
    expect(c.rackAt).toBe(12.5);
    expect(c.deadline()).toBe(12.5);
    // t = 11: segment 1 arrives after all (reordered).
    h.now = 11;
    peerAck(h, c, s0 + 3 * M, [], 0);
    h.recvNothing();
    expect(c.rackAt).toBe(-1);
    expect(c.rack.reorderingSeen).toBe(true);
    const st = c.status();
    expect([st.retransmits, st.fastRecoveries, st.timeouts]).toEqual([0, 0, 0]);
  });

  it("the reordering timer marks the segment lost when the window passes without it", () => {
    const { h, c, s0 } = tenInFlight();
    h.now = 10;
    peerAck(h, c, s0 + M, [s0 + 2 * M, s0 + 3 * M], 0);
    h.recvNothing();
    const rtx = h.advance(); // to the reordering timer, t = 12.5
    expect(h.now).toBe(12.5);
    expect(at(rtx, s0)).toEqual([[M, M]]);
    expect(c.inRecovery).toBe(true);
    expect(c.status().timeouts).toBe(0);
  });

  it("once reordering was seen, the window stays min_RTT/4 even with DupThresh segments SACKed", () => {
    const { h, c, s0 } = tenInFlight(20 * M);
    h.now = 10;
    peerAck(h, c, s0 + M, [s0 + 2 * M, s0 + 3 * M], 0);
    h.now = 11;
    peerAck(h, c, s0 + 3 * M, [], 0); // reordering seen
    h.recv();
    // t = 12: segment 3 missing, 4..9 SACKed (6 ≥ DupThresh): still 2.5 ms of grace after
    // RACK.rtt (12 ms now), so not before t = 14.5.
    h.now = 12;
    peerAck(h, c, s0 + 3 * M, [s0 + 4 * M, s0 + 10 * M], 0);
    expect(c.inRecovery).toBe(false);
    expect(c.rackAt).toBe(14.5);
  });

  it("a DSACK widens the reordering window for a round (RFC 8985 §6.2 step 4)", () => {
    const { h, c, s0 } = tenInFlight(20 * M);
    h.now = 10;
    peerAck(h, c, s0 + M, [s0 + 2 * M, s0 + 3 * M], 0);
    h.now = 11;
    peerAck(h, c, s0 + 3 * M, [], 0); // reordering seen
    h.recv();
    // The peer got segment 1 twice: a DSACK block below the cumulative ACK (RFC 2883 §4).
    h.now = 11.5;
    peerAck(h, c, s0 + 3 * M, [s0 + M, s0 + 2 * M], 0);
    expect(c.status().dsacks).toBe(1);
    expect(c.rack.reoWndIncr).toBe(2);
    // Segment 3 missing, 4 SACKed (RACK.rtt 12 ms): the window is now 2 × min_RTT/4 = 5 ms.
    h.now = 12;
    peerAck(h, c, s0 + 3 * M, [s0 + 4 * M, s0 + 5 * M], 0);
    expect(c.rackAt).toBe(0 + 12 + 5);
  });
});

describe("tail loss probe (RFC 8985 §7)", () => {
  it("lost last segments are repaired by a probe at 2·SRTT + 2 ms, no timeout; the repair costs one reduction", () => {
    const { h, c, s0 } = tenInFlight();
    // t = 10: 0..7 acknowledged; 8 and 9 were lost. SRTT is 1.25 ms (the handshake's 0 ms
    // sample, then 10 ms): PTO = 2.5 + 2 ms.
    h.now = 10;
    peerAck(h, c, s0 + 8 * M, [], 0);
    expect(c.tlpAt).toBe(14.5);
    const probe = h.advance();
    expect(h.now).toBe(14.5);
    expect(at(probe, s0)).toEqual([[9 * M, M]]); // no new data: the last segment again
    expect(c.rtoAt).toBe(14.5 + c.rtt.rto);
    // t = 24.5: the probe's ACK SACKs it; RACK finds segment 8 lost (sent before, 10 ms ago).
    h.now = 24.5;
    peerAck(h, c, s0 + 8 * M, [s0 + 9 * M, s0 + 10 * M], 14.5);
    expect(at(h.recv(), s0)).toEqual([[8 * M, M]]);
    expect(c.inRecovery).toBe(true);
    h.now = 34.5;
    peerAck(h, c, s0 + 10 * M, [], 24.5);
    const st = c.status();
    expect([st.lossProbes, st.retransmits, st.timeouts, st.fastRecoveries]).toEqual([1, 2, 0, 1]);
  });

  it("a single lost last segment: the probe comes in place of the RTO (PTO capped at it), not a timeout", () => {
    const { h, c, s0 } = tenInFlight();
    // t = 10: 0..8 acknowledged; 9 was lost. One segment in flight: PTO = 2·SRTT + 200 ms,
    // capped at the RTO's expiry, where the probe goes instead of the timeout.
    h.now = 10;
    peerAck(h, c, s0 + 9 * M, [], 0);
    expect(c.tlpAt).toBe(c.rtoAt);
    const probe = h.advance();
    expect(h.now).toBe(210);
    expect(at(probe, s0)).toEqual([[9 * M, M]]);
    h.now = 220;
    peerAck(h, c, s0 + 10 * M, [], 210);
    let st = c.status();
    expect([st.lossProbes, st.retransmits, st.timeouts, st.fastRecoveries]).toEqual([1, 1, 0, 0]);
    expect(st.ssthresh).toBe(Number.POSITIVE_INFINITY);
    // The next ACK beyond the probe tells it repaired a loss: one congestion response (§7.4).
    c.write(new Uint8Array(M), h.now);
    h.recvOne();
    h.now = 230;
    peerAck(h, c, c.sndMax, [], 220);
    st = c.status();
    expect(st.lossProbeRecoveries).toBe(1);
    expect(st.ssthresh).toBeLessThan(Number.POSITIVE_INFINITY);
  });

  it("a probe whose original also arrived (DSACK) changes nothing", () => {
    const { h, c, s0 } = tenInFlight();
    h.now = 10;
    peerAck(h, c, s0 + 8 * M, [], 0);
    h.advance(); // t = 14.5, the probe: segment 9 again
    h.now = 20;
    peerAck(h, c, s0 + 10 * M, [], 0); // the originals' ACK, late
    h.now = 25;
    peerAck(h, c, s0 + 10 * M, [s0 + 9 * M, s0 + 10 * M], 14.5); // the probe's: a DSACK
    c.write(new Uint8Array(M), h.now);
    h.recvOne();
    h.now = 35;
    peerAck(h, c, c.sndMax, [], 25);
    const st = c.status();
    expect([st.lossProbes, st.dsacks, st.lossProbeRecoveries]).toEqual([1, 1, 0]);
    expect(st.ssthresh).toBe(Number.POSITIVE_INFINITY);
  });

  it("with new data waiting and no room in cwnd, the probe is new data", () => {
    const { h, c, s0 } = tenInFlight(11 * M);
    // Nothing comes back: the probe goes at 2·SRTT + 2 ms = 2 ms (SRTT 0 from the handshake).
    const probe = h.advance();
    expect(h.now).toBe(2);
    expect(at(probe, s0)).toEqual([[10 * M, M]]);
    const st = c.status();
    expect([st.lossProbes, st.retransmits]).toEqual([1, 0]);
    // One probe per episode: next comes the RTO.
    h.advance();
    expect(c.status().timeouts).toBe(1);
  });

  it('no probe with recovery: "rfc6675": the tail loss waits for the RTO', () => {
    const { h, c, s0 } = tenInFlight(10 * M, { recovery: "rfc6675" });
    h.now = 10;
    peerAck(h, c, s0 + 9 * M, [], 0);
    expect(c.tlpAt).toBe(-1);
    const rtx = h.advance();
    expect(h.now).toBe(10 + c.rtt.rto / 2); // the RTO (backed off once it fired)
    expect(at(rtx, s0)).toEqual([[9 * M, M]]);
    expect(c.status().timeouts).toBe(1);
  });
});

describe("two engines, one segment dropped at each position of a transfer", () => {
  /** A 60-segment transfer (plus FIN) over a 10 ms path, dropping the `k`-th data segment. */
  function dropOne(k: number, recovery: "rack" | "rfc6675") {
    let dataSeen = 0;
    const sim = new Sim({
      delay: 5,
      dropIf: (seg, from) => from === 1 && seg.payloadLength > 0 && ++dataSeen === k,
    });
    const a = sim.host(1, { recovery, msl: 100 });
    const b = sim.host(2, { recovery, msl: 100 });
    b.listen(80);
    const client = a.connect(b, 80, 40000);
    const data = pattern(60 * M, k);
    const t = new Transfer(sim, data, client, undefined);
    const done = sim.run(() => t.readerDone && a.conns.size === 0 && b.conns.size === 0, {
      onStep: () => {
        if (t.reader === undefined && b.accepted.length > 0) t.reader = b.accepted[0];
        t.hook();
      },
    });
    expect(done).toBe(true);
    expect([t.received.n, t.received.h]).toEqual([data.length, fnv(data)]);
    return client.status();
  }

  it("rack: no retransmission timeout whichever single segment is lost", () => {
    const timeouts: number[] = [];
    let probes = 0;
    for (let k = 1; k <= 60; k++) {
      const st = dropOne(k, "rack");
      if (st.timeouts > 0) timeouts.push(k);
      probes += st.lossProbes;
    }
    expect(timeouts).toEqual([]);
    expect(probes).toBeGreaterThan(0); // the tail losses were repaired by probes
  });

  it("rfc6675: the losses near the tail wait for a timeout", () => {
    const timeouts: number[] = [];
    for (let k = 1; k <= 60; k++) if (dropOne(k, "rfc6675").timeouts > 0) timeouts.push(k);
    expect(timeouts.length).toBeGreaterThan(0);
    expect(timeouts).toContain(60);
  });
});
