// Loss recovery on the segments in flight, segment by segment in virtual time against a scripted
// peer that SACKs (Linux's SYN options): what a retransmission timeout resends — only what the
// peer lacks (RFC 6675 §5.1), not everything from SND.UNA.
import { describe, expect, it } from "vitest";
import type { TcpConnection, TcpView } from "../src/index.js";
import { ACK, clientEstablished, type Harness, linuxSynOptions, PEER_ISS } from "./peer.js";

const M = 1448;
const SACK_TS = linuxSynOptions(100, 0, 7);

/** The peer's ACK: cumulative `ack`, SACK `blocks`, a timestamp echoing the TSval we sent at `echoAt`. */
function peerAck(
  h: Harness,
  c: TcpConnection,
  ack: number,
  blocks: number[],
  echoAt: number,
  window = 0xffff,
): void {
  const ts = { kind: 8 as const, tsVal: 1000 + Math.floor(h.now), tsEcr: c.tsNow(echoAt) };
  const options =
    blocks.length > 0 ? [{ kind: 1 as const }, { kind: 1 as const }, { kind: 5 as const, blocks }, ts] : [ts];
  h.send({ seq: PEER_ISS + 1, ack: ack >>> 0, flags: ACK, options, window });
}

/** [offset from s0, payload] of each segment. */
const at = (segs: TcpView[], s0: number) => segs.map((s) => [(s.seq - s0) >>> 0, s.payloadLength]);

/** An established client that sent 10 segments (the initial window) of `total` bytes at t = 0. */
function tenInFlight(total: number, config = {}) {
  const { h, c } = clientEstablished(config, SACK_TS);
  c.write(new Uint8Array(total), h.now);
  const segs = h.recv();
  expect(segs.length).toBe(10);
  return { h, c, s0: segs[0]!.seq };
}

describe("a retransmission timeout keeps the SACK information (RFC 6675 §5.1)", () => {
  for (const recovery of ["rack", "rfc6675"] as const) {
    it(`${recovery}: after the timeout only the segment the peer lacks is resent`, () => {
      const { h, c, s0 } = tenInFlight(10 * M, { recovery });
      h.now = 10;
      peerAck(h, c, s0 + M, [s0 + 2 * M, s0 + 10 * M], 0);
      expect(at(h.recv(), s0)).toEqual([[M, M]]);
      // The retransmission is lost too, and nothing is sent after it: the RTO fires.
      const rtx = h.advance();
      expect(c.status().timeouts).toBe(1);
      expect(at(rtx, s0)).toEqual([[M, M]]); // not 2..9, which the peer holds
      h.now += 10;
      peerAck(h, c, s0 + 10 * M, [], h.now - 10);
      expect(c.sndUna).toBe(c.sndMax);
      expect(c.status().retransmits).toBe(2);
      expect(c.sent.count).toBe(0);
      // The ACK covered ten segments, but delivered only the one resent: slow start from one
      // segment after the timeout grows by that one, not by the eight SACKed before.
      expect(c.window.cwnd).toBe(2 * M);
    });
  }
});

describe("congestion window validation (Linux tcp_is_cwnd_limited)", () => {
  it("cwnd does not grow while the peer's window, not cwnd, limits the sender", () => {
    const { h, c } = clientEstablished({}, SACK_TS);
    c.write(new Uint8Array(200 * M), h.now);
    // The peer offers four segments' worth (its window scale is 7).
    const field = Math.ceil((4 * M) / 128);
    peerAck(h, c, c.sndUna, [], 0, field);
    h.recv();
    const cwnd0 = c.window.cwnd;
    for (let round = 1; round <= 30; round++) {
      h.now = round * 10;
      peerAck(h, c, c.sndMax, [], h.now - 10, field);
      expect(c.status().inFlight).toBe(0);
      expect(h.recv().length).toBe(4);
    }
    expect(c.status().bytesAcked).toBeGreaterThan(100 * M);
    expect(c.window.cwnd).toBe(cwnd0);
  });
});
