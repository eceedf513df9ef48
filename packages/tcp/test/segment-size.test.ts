// Segment sizing against the path MTU. The MSS counts no TCP options (RFC 6691 §2, RFC 9293
// §3.7.1): a segment's payload shrinks by the options it carries beyond those the effective MSS
// already accounts for (the timestamps every segment carries). SACK blocks are the options that
// come and go, so every path that sizes a segment — new data, timeout retransmission, SACK
// recovery, FIN piggyback, window-limited sends — must leave room for them, as Linux's
// tcp_current_mss does. A segment that does not fit is dropped by IPv4 (DF is set) on every try.
import { describe, expect, it } from "vitest";
import type { TcpOption, TcpView } from "../src/index.js";
import { ACK, clientEstablished, FIN, linuxSynOptions, PEER_ISS, PSH } from "./peer.js";

const MTU = 1500;
const ts = (tsVal: number): TcpOption[] => [{ kind: 1 }, { kind: 1 }, { kind: 8, tsVal, tsEcr: 0 }];
/** Linux's SYN options without timestamps: MSS 1460, NOP NOP SACK-permitted, NOP window scale. */
const SACK_NO_TS: TcpOption[] = [
  { kind: 2, mss: 1460 },
  { kind: 1 },
  { kind: 1 },
  { kind: 4 },
  { kind: 1 },
  { kind: 3, shift: 7 },
];

/** IPv4 datagram size of an emitted segment (20-byte IPv4 header, no IP options). */
const datagram = (s: TcpView) => 20 + s.headerLength + s.payloadLength;

/**
 * An established client whose peer (MSS 1460, SACK, optionally timestamps) has sent `ranges`
 * out-of-order segments, so that our segments carry that many SACK ranges (3 at most fit beside
 * timestamps, 4 without).
 */
function withRanges(timestamps: boolean, ranges: number, config = {}) {
  const est = clientEstablished({ noDelay: true, ...config }, timestamps ? linuxSynOptions() : SACK_NO_TS);
  const { h, c } = est;
  for (let i = 0; i < ranges; i++) {
    h.send({
      seq: PEER_ISS + 1 + 100 * (2 * i + 1),
      ack: c.sndNxt,
      flags: ACK,
      payload: new Uint8Array(50),
      options: timestamps ? ts(200 + i) : [],
    });
    const a = h.recvOne();
    expect(a.sackCount).toBe(Math.min(i + 1, timestamps ? 3 : 4));
  }
  return est;
}

describe("segments fit the path MTU whatever SACK blocks they carry", () => {
  for (const [timestamps, ranges, payload] of [
    [true, 0, 1448],
    [true, 1, 1436],
    [true, 2, 1428],
    [true, 3, 1420],
    [true, 4, 1420],
    [false, 1, 1448],
    [false, 4, 1424],
  ] as const) {
    it(`new data, ${timestamps ? "timestamps" : "no timestamps"}, ${ranges} SACK ranges: full segments of ${payload} bytes`, () => {
      const { h, c } = withRanges(timestamps, ranges);
      c.write(new Uint8Array(3 * payload + 7), h.now);
      const segs = h.recv();
      expect(segs.map((s) => s.payloadLength)).toEqual([payload, payload, payload, 7]);
      // The full ones fill the MTU exactly: nothing is wasted either.
      expect(segs.slice(0, 3).map(datagram)).toEqual([MTU, MTU, MTU]);
    });
  }

  it("Nagle counts a segment shrunk by SACK blocks as full-sized", () => {
    const { h, c } = withRanges(true, 1, { noDelay: false });
    c.write(new Uint8Array(100), h.now);
    expect(h.recvOne().payloadLength).toBe(100);
    // Unacknowledged data: only full-sized segments may go (RFC 9293 §3.7.4). 1436 is full here.
    c.write(new Uint8Array(2 * 1436 + 10), h.now);
    expect(h.recv().map((s) => s.payloadLength)).toEqual([1436, 1436]);
  });

  it("a timeout retransmission of data sent before the SACK blocks appeared is cut to the smaller size", () => {
    // RFC 6675 recovery: no tail loss probe comes before the timeout.
    const { h, c } = withRanges(true, 0, { recovery: "rfc6675" });
    c.write(new Uint8Array(2 * 1448), h.now);
    const first = h.recv();
    expect(first.map((s) => s.payloadLength)).toEqual([1448, 1448]);
    // Now the peer's data arrives out of order: our segments carry a SACK block from here on.
    h.send({ seq: PEER_ISS + 101, ack: c.sndUna, flags: ACK, payload: new Uint8Array(50), options: ts(300) });
    expect(h.recvOne().sackCount).toBe(1);
    // RTO: the first segment again, in two pieces that fit (a segment is resent whole, so the
    // second piece goes beside the first though the window after a timeout is one segment).
    const rtx = h.advance();
    expect(rtx.map((s) => [s.seq - first[0]!.seq, s.payloadLength, s.sackCount])).toEqual([
      [0, 1436, 1],
      [1436, 12, 1],
    ]);
    expect(rtx.map(datagram)).toEqual([MTU, 20 + 20 + 12 + 12 + 12]);
  });

  it("a tail loss probe of data sent before the SACK blocks appeared is cut to the smaller size", () => {
    const { h, c } = withRanges(true, 0);
    c.write(new Uint8Array(2 * 1448), h.now);
    const first = h.recv();
    h.send({ seq: PEER_ISS + 101, ack: c.sndUna, flags: ACK, payload: new Uint8Array(50), options: ts(300) });
    expect(h.recvOne().sackCount).toBe(1);
    // The probe timeout (2·SRTT + 2 ms) comes long before the RTO: the last segment again, in pieces.
    const probe = h.advance();
    expect(h.now).toBe(2);
    expect(probe.map((s) => [s.seq - first[0]!.seq, s.payloadLength])).toEqual([
      [1448, 1436],
      [1448 + 1436, 12],
    ]);
    for (const s of probe) expect(datagram(s)).toBeLessThanOrEqual(MTU);
    expect(c.status().lossProbes).toBe(1);
  });

  it("SACK recovery retransmits a hole in pieces that fit (RFC 6675 NextSeg with the current MSS)", () => {
    const { h, c } = withRanges(true, 0);
    const M = 1448;
    c.write(new Uint8Array(10 * M), h.now);
    const segs = h.recv();
    expect(segs.length).toBe(10);
    const s0 = segs[0]!.seq;
    // Our receive side gets an out-of-order segment: every segment we send now carries a block.
    h.send({ seq: PEER_ISS + 101, ack: c.sndUna, flags: ACK, payload: new Uint8Array(50), options: ts(300) });
    h.recvOne();
    // Segment 1 lost; the peer SACKs 2..9 (IsLost(SND.UNA): recovery starts).
    h.send({
      seq: PEER_ISS + 1,
      ack: s0 + M,
      flags: ACK,
      options: [{ kind: 1 }, { kind: 1 }, { kind: 5, blocks: [s0 + 2 * M, s0 + 10 * M] }, ...ts(301)],
    });
    expect(c.inRecovery).toBe(true);
    const rtx = h.recv();
    expect(rtx.map((s) => [s.seq - s0, s.payloadLength])).toEqual([
      [M, 1436],
      [M + 1436, 12],
    ]);
    for (const s of rtx) expect(datagram(s)).toBeLessThanOrEqual(MTU);
  });

  it("a FIN does not ride on a segment that would then exceed the MTU", () => {
    const { h, c } = withRanges(true, 1);
    c.write(new Uint8Array(1440), h.now);
    c.shutdown(h.now);
    const segs = h.recv();
    expect(segs.map((s) => [s.payloadLength, s.flags])).toEqual([
      [1436, ACK],
      [4, ACK | PSH | FIN],
    ]);
    for (const s of segs) expect(datagram(s)).toBeLessThanOrEqual(MTU);
  });

  it("the persist timer's window-limited send fits too", () => {
    const { h, c } = withRanges(true, 3);
    // The peer's window shrinks to 7 << 7 = 896 bytes with nothing in flight: less than a
    // segment and under half the largest window, so SWS avoidance holds the data until the
    // override (persist) timer sends what the window allows.
    // (Sent at the sequence number of the peer's latest segment: SND.WL1 only moves forward.)
    h.send({ seq: PEER_ISS + 501, ack: c.sndNxt, flags: ACK, window: 7, options: ts(400) });
    c.write(new Uint8Array(5000), h.now);
    h.recvNothing();
    const late = h.advance();
    expect(late.map((s) => [s.payloadLength, s.sackCount])).toEqual([[896, 3]]);
    expect(datagram(late[0]!)).toBeLessThanOrEqual(MTU);
  });
});
