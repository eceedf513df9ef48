import { describe, expect, it } from "vitest";
import { TcpEvent } from "../src/index.js";
import {
  ACK,
  clientEstablished,
  FIN,
  Harness,
  LOCAL,
  LPORT,
  linuxSynOptions,
  PEER_ISS,
  PSH,
  REMOTE,
  RPORT,
  RST,
  SYN,
  serverEstablished,
} from "./peer.js";

const SACK_TS = linuxSynOptions(100, 0, 7);
const ts = (tsVal: number, tsEcr = 0) => [{ kind: 1 }, { kind: 1 }, { kind: 8, tsVal, tsEcr }] as const;

describe("receiving data", () => {
  it("established_recv: data is readable, ACKed at once while in quickack, then every second segment", () => {
    const { h, c } = clientEstablished({}, []);
    let seq = PEER_ISS + 1;
    const mss = 536;
    // 16 quick ACKs at the start (Linux quickack mode).
    for (let i = 0; i < 16; i++) {
      h.send({ seq, ack: c.sndNxt, flags: ACK, payload: new Uint8Array(mss) });
      seq += mss;
      expect(h.recvOne().ack).toBe(seq);
    }
    // Then delayed ACK: nothing after one segment, an ACK after the second (RFC 1122 §4.2.3.2).
    h.send({ seq, ack: c.sndNxt, flags: ACK, payload: new Uint8Array(mss) });
    seq += mss;
    h.recvNothing();
    h.send({ seq, ack: c.sndNxt, flags: ACK, payload: new Uint8Array(mss) });
    seq += mss;
    expect(h.recvOne().ack).toBe(seq);
    // A lone segment is acknowledged when the delayed ACK timer (40 ms) fires.
    h.send({ seq, ack: c.sndNxt, flags: ACK | PSH, payload: "z" });
    seq += 1;
    h.recvNothing();
    expect(c.deadline()).toBe(h.now + 40);
    const late = h.advance();
    expect(late.map((s) => s.ack)).toEqual([seq]);
    expect(c.readableLength).toBe(18 * mss + 1);
    const out = new Uint8Array(100000);
    expect(c.read(out, h.now)).toBe(18 * mss + 1);
    expect(c.read(out, h.now)).toBe(0);
  });

  it("out-of-order data is ACKed at once with a SACK block, and the gap fill ACKs everything", () => {
    const { h, c } = clientEstablished({}, SACK_TS);
    const base = PEER_ISS + 1;
    h.send({
      seq: base + 100,
      ack: c.sndNxt,
      flags: ACK,
      payload: new Uint8Array(100),
      options: [...ts(200)],
    });
    let a = h.recvOne();
    expect(a.ack).toBe(base);
    expect(a.sackCount).toBe(1);
    expect([a.sackLeft(0), a.sackRight(0)]).toEqual([base + 100, base + 200]);
    h.send({
      seq: base + 300,
      ack: c.sndNxt,
      flags: ACK,
      payload: new Uint8Array(50),
      options: [...ts(201)],
    });
    a = h.recvOne();
    // RFC 2018 §4: the most recent block first.
    expect(a.sackCount).toBe(2);
    expect([a.sackLeft(0), a.sackRight(0), a.sackLeft(1), a.sackRight(1)]).toEqual([
      base + 300,
      base + 350,
      base + 100,
      base + 200,
    ]);
    h.send({
      seq: base,
      ack: c.sndNxt,
      flags: ACK,
      payload: new Uint8Array(100).fill(1),
      options: [...ts(202)],
    });
    a = h.recvOne();
    expect(a.ack).toBe(base + 200);
    expect(a.sackCount).toBe(1);
    h.send({
      seq: base + 200,
      ack: c.sndNxt,
      flags: ACK,
      payload: new Uint8Array(100).fill(2),
      options: [...ts(203)],
    });
    a = h.recvOne();
    expect(a.ack).toBe(base + 350);
    expect(a.sackCount).toBe(0);
    const out = new Uint8Array(400);
    expect(c.read(out, h.now)).toBe(350);
    expect(out[0]).toBe(1);
    expect(out[200]).toBe(2);
    expect(c.status().outOfOrder).toBe(2);
  });

  it("without SACK-permitted no SACK blocks are sent", () => {
    const { h, c } = clientEstablished({}, [{ kind: 2, mss: 1460 }]);
    h.send({ seq: PEER_ISS + 101, ack: c.sndNxt, flags: ACK, payload: new Uint8Array(10) });
    const a = h.recvOne();
    expect(a.ack).toBe(PEER_ISS + 1);
    expect(a.options).toEqual([]);
  });

  it("a full receive buffer advertises a zero window; reading sends a window update (SWS-avoided)", () => {
    const { h, c } = clientEstablished({ receiveBufferSize: 4096 }, []);
    let seq = PEER_ISS + 1;
    for (let i = 0; i < 8; i++) {
      h.send({ seq, ack: c.sndNxt, flags: ACK, payload: new Uint8Array(512) });
      seq += 512;
    }
    const acks = h.recv();
    expect(acks[acks.length - 1]!.window).toBe(0);
    // Data beyond the window is not acceptable: ACKed and dropped.
    h.send({ seq, ack: c.sndNxt, flags: ACK, payload: new Uint8Array(10) });
    expect(h.recvOne().ack).toBe(seq);
    expect(c.readableLength).toBe(4096);
    // 1100 bytes read is less than min(buffer / 2, MSS 1460): no update yet (RFC 1122 §4.2.3.3).
    c.read(new Uint8Array(100), h.now);
    c.read(new Uint8Array(1000), h.now);
    h.recvNothing();
    c.read(new Uint8Array(1000), h.now);
    const upd = h.recvOne();
    expect(upd.window).toBe(2100);
    expect(upd.ack).toBe(seq);
  });
});

describe("sending data", () => {
  it("segments at the MSS, PSH on the last, ACK on each", () => {
    const { h, c } = clientEstablished({ noDelay: true }, [{ kind: 2, mss: 1000 }]);
    expect(c.write(new Uint8Array(2500), h.now)).toBe(2500);
    const segs = h.recv();
    expect(segs.map((s) => [s.payloadLength, s.flags])).toEqual([
      [1000, ACK],
      [1000, ACK],
      [500, ACK | PSH],
    ]);
  });

  it("Nagle: a second small write waits for the ACK; noDelay sends it at once", () => {
    const { h, c } = clientEstablished({}, []);
    c.write(new Uint8Array(10), h.now);
    expect(h.recvOne().payloadLength).toBe(10);
    c.write(new Uint8Array(10), h.now);
    h.recvNothing();
    h.send({ seq: PEER_ISS + 1, ack: c.sndNxt, flags: ACK });
    expect(h.recvOne().payloadLength).toBe(10);
    const n = clientEstablished({ noDelay: true }, []);
    n.c.write(new Uint8Array(10), 0);
    expect(n.h.recvOne().payloadLength).toBe(10);
    n.c.write(new Uint8Array(10), 0);
    expect(n.h.recvOne().payloadLength).toBe(10);
  });

  it("the initial congestion window is 10 segments (RFC 6928), and the send buffer bounds write()", () => {
    const { h, c } = clientEstablished({ sendBufferSize: 64 * 1024 }, [{ kind: 2, mss: 1000 }]);
    expect(c.write(new Uint8Array(100_000), h.now)).toBe(65536);
    expect(c.write(new Uint8Array(10), h.now)).toBe(0);
    expect(h.recv().length).toBe(10);
    h.send({ seq: PEER_ISS + 1, ack: c.sndUna + 2000, flags: ACK });
    expect(c.takeEvents() & TcpEvent.Writable).toBeTruthy();
    expect(c.writableLength).toBe(2000);
    // Slow start: two segments ACKed open the window by two more (ABC, L = 2).
    expect(h.recv().length).toBe(4);
  });

  it("retransmission timeout: resend after RTO with backoff, RTT samples set the RTO", () => {
    const { h, c } = clientEstablished({}, []);
    c.write(new Uint8Array(100), h.now);
    const d = h.recvOne();
    // The handshake's 0 ms RTT sample gave RTO = max(minRto, SRTT + 4 RTTVAR) = 200 ms.
    expect(c.deadline()).toBe(200);
    const r1 = h.advance();
    expect(h.now).toBe(200);
    expect(r1.map((s) => [s.seq, s.payloadLength])).toEqual([[d.seq, 100]]);
    h.advance();
    expect(h.now).toBe(600); // backed off to 400 ms (RFC 6298 (5.5))
    h.now += 50;
    h.send({ seq: PEER_ISS + 1, ack: d.seq + 100, flags: ACK });
    expect(c.status().retransmits).toBe(2);
    expect(c.status().timeouts).toBe(2);
    // Karn: the retransmitted segment gave no sample; the backoff stays until a new sample.
    expect(c.status().rto).toBe(800);
    c.write(new Uint8Array(100), h.now);
    h.recvOne();
    h.now += 30;
    h.send({ seq: PEER_ISS + 1, ack: c.sndNxt, flags: ACK });
    expect(c.status().srtt).toBeCloseTo(30 / 8, 5);
  });

  it("gives up with ETIMEDOUT and a RST after maxRetries timeouts (tcp_retries2)", () => {
    const { h, c } = clientEstablished({ maxRetries: 3 }, []);
    c.write(new Uint8Array(100), h.now);
    h.recvOne();
    for (let i = 0; i < 3; i++) expect(h.advance().length).toBe(1);
    const last = h.advance();
    expect(c.state).toBe("CLOSED");
    expect(c.error).toBe("ETIMEDOUT");
    expect(last.map((s) => s.flags)).toEqual([RST]);
  });

  it("fast retransmit on three duplicate ACKs without SACK (NewReno)", () => {
    const { h, c } = clientEstablished({ congestionControl: "newreno" }, [{ kind: 2, mss: 1000 }]);
    c.write(new Uint8Array(8000), h.now);
    const segs = h.recv();
    expect(segs.length).toBe(8);
    const una = segs[0]!.seq;
    for (let i = 0; i < 2; i++) h.send({ seq: PEER_ISS + 1, ack: una, flags: ACK });
    h.recvNothing();
    h.send({ seq: PEER_ISS + 1, ack: una, flags: ACK });
    const rtx = h.recvOne();
    expect([rtx.seq, rtx.payloadLength]).toEqual([una, 1000]);
    const st = c.status();
    expect(st.fastRecoveries).toBe(1);
    expect(st.dupAcks).toBe(3);
    expect(st.ssthresh).toBe(4000); // FlightSize / 2
    // A partial ACK retransmits the next hole (RFC 6582).
    h.send({ seq: PEER_ISS + 1, ack: una + 3000, flags: ACK });
    const next = h.recv();
    expect([next[0]!.seq, next[0]!.payloadLength]).toEqual([una + 3000, 1000]);
    h.send({ seq: PEER_ISS + 1, ack: una + 8000, flags: ACK });
    expect(c.inRecovery).toBe(false);
  });

  it("SACK recovery retransmits exactly the holes (RFC 6675)", () => {
    const { h, c } = clientEstablished({}, SACK_TS);
    c.write(new Uint8Array(10 * 1448), h.now);
    const segs = h.recv();
    expect(segs.length).toBe(10);
    const s0 = segs[0]!.seq;
    const M = 1448;
    // Segments 1 and 4 lost: the peer SACKs 2-3 and 5-9.
    const sack = (blocks: number[]) => [{ kind: 1 }, { kind: 1 }, { kind: 5, blocks }, ...ts(300)];
    h.send({ seq: PEER_ISS + 1, ack: s0 + M, flags: ACK, options: sack([s0 + 2 * M, s0 + 4 * M]) as never });
    h.send({
      seq: PEER_ISS + 1,
      ack: s0 + M,
      flags: ACK,
      options: sack([s0 + 5 * M, s0 + 10 * M, s0 + 2 * M, s0 + 4 * M]) as never,
    });
    expect(c.inRecovery).toBe(true);
    const rtx = h.recv();
    expect(rtx.map((s) => s.seq)).toEqual([s0 + M, s0 + 4 * M]);
    expect(c.status().sackedBytes).toBe(7 * M);
  });

  it("zero window: persist probes back off until the window opens, then data flows", () => {
    const { h, c } = clientEstablished({}, []);
    h.send({ seq: PEER_ISS + 1, ack: c.sndNxt, flags: ACK, window: 0 });
    c.write(new Uint8Array(100), h.now);
    h.recvNothing();
    const t0 = h.now;
    const p1 = h.advance();
    expect(p1.map((s) => [s.seq, s.payloadLength])).toEqual([[c.sndUna - 1, 0]]);
    const t1 = h.now;
    h.send({ seq: PEER_ISS + 1, ack: c.sndNxt, flags: ACK, window: 0 });
    h.advance();
    const t2 = h.now;
    expect(t2 - t1).toBeGreaterThan(t1 - t0); // backoff
    expect(c.status().windowProbes).toBe(2);
    h.send({ seq: PEER_ISS + 1, ack: c.sndNxt, flags: ACK, window: 1000 });
    expect(h.recvOne().payloadLength).toBe(100);
    expect(c.state).toBe("ESTABLISHED");
  });
});

describe("closing", () => {
  it("active close: FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED after 2 MSL", () => {
    const { h, c } = clientEstablished({ msl: 1000 }, []);
    c.close(h.now);
    expect(c.state).toBe("FIN-WAIT-1");
    const fin = h.recvOne();
    expect(fin.flags).toBe(FIN | ACK);
    h.send({ seq: PEER_ISS + 1, ack: fin.seq + 1, flags: ACK });
    expect(c.state).toBe("FIN-WAIT-2");
    h.send({ seq: PEER_ISS + 1, ack: fin.seq + 1, flags: FIN | ACK });
    expect(c.state).toBe("TIME-WAIT");
    expect(h.recvOne().ack).toBe(PEER_ISS + 2);
    // A retransmitted FIN is ACKed again and restarts the timer.
    h.now += 500;
    h.send({ seq: PEER_ISS + 1, ack: fin.seq + 1, flags: FIN | ACK });
    expect(h.recvOne().ack).toBe(PEER_ISS + 2);
    expect(c.deadline()).toBe(h.now + 2000);
    h.advance();
    expect(c.state).toBe("CLOSED");
    expect(c.error).toBeUndefined();
  });

  it("fin_wait_1_fin_ack: FIN and ACK of our FIN together go straight to TIME-WAIT", () => {
    const { h, c } = clientEstablished({}, []);
    c.shutdown(h.now);
    const fin = h.recvOne();
    h.send({ seq: PEER_ISS + 1, ack: fin.seq + 1, flags: FIN | ACK });
    expect(c.state).toBe("TIME-WAIT");
  });

  it("simultaneous close: FIN-WAIT-1 → CLOSING → TIME-WAIT", () => {
    const { h, c } = clientEstablished({}, []);
    c.shutdown(h.now);
    const fin = h.recvOne();
    h.send({ seq: PEER_ISS + 1, ack: fin.seq, flags: FIN | ACK });
    expect(c.state).toBe("CLOSING");
    expect(h.recvOne().ack).toBe(PEER_ISS + 2);
    h.send({ seq: PEER_ISS + 2, ack: fin.seq + 1, flags: ACK });
    expect(c.state).toBe("TIME-WAIT");
  });

  it("passive close: CLOSE-WAIT with end of stream, then LAST-ACK → CLOSED", () => {
    const { h, c } = serverEstablished({}, []);
    h.send({ seq: PEER_ISS + 1, ack: c.sndNxt, flags: ACK | PSH, payload: "bye" });
    h.send({ seq: PEER_ISS + 4, ack: c.sndNxt, flags: FIN | ACK });
    expect(c.state).toBe("CLOSE-WAIT");
    expect(c.takeEvents() & TcpEvent.PeerFin).toBeTruthy();
    expect(h.recv().pop()!.ack).toBe(PEER_ISS + 5);
    const out = new Uint8Array(10);
    expect(c.read(out, h.now)).toBe(3);
    expect(c.read(out, h.now)).toBe(-1);
    expect(c.readEnded).toBe(true);
    // Still writable in CLOSE-WAIT (half-close from the peer).
    expect(c.write(new Uint8Array(5), h.now)).toBe(5);
    c.close(h.now);
    expect(c.state).toBe("LAST-ACK");
    const segs = h.recv();
    expect(segs.map((s) => [s.payloadLength, s.flags & FIN])).toEqual([[5, FIN]]);
    h.send({ seq: PEER_ISS + 5, ack: segs[0]!.seq + 6, flags: ACK });
    expect(c.state).toBe("CLOSED");
    expect(c.error).toBeUndefined();
  });

  it("half-close: after shutdown the connection still receives (FIN-WAIT-2) until the peer's FIN", () => {
    const { h, c } = clientEstablished({}, []);
    c.shutdown(h.now);
    const fin = h.recvOne();
    h.send({ seq: PEER_ISS + 1, ack: fin.seq + 1, flags: ACK });
    expect(c.state).toBe("FIN-WAIT-2");
    expect(c.write(new Uint8Array(1), h.now)).toBe(-1);
    h.send({ seq: PEER_ISS + 1, ack: fin.seq + 1, flags: ACK, payload: "more data" });
    expect(c.read(new Uint8Array(20), h.now)).toBe(9);
    expect(c.finWait2At).toBe(-1); // no orphan timeout after shutdown()
  });

  it("close with unread data resets the connection (RFC 2525 §2.17, like Linux)", () => {
    const { h, c } = clientEstablished({}, []);
    h.send({ seq: PEER_ISS + 1, ack: c.sndNxt, flags: ACK, payload: "unread" });
    h.recv();
    c.close(h.now);
    expect(c.state).toBe("CLOSED");
    const r = h.recvOne();
    expect([r.flags, r.seq]).toEqual([RST, c.sndNxt]);
  });

  it("data arriving after close() is answered with RST", () => {
    const { h, c } = clientEstablished({}, []);
    c.close(h.now);
    const fin = h.recvOne();
    h.send({ seq: PEER_ISS + 1, ack: fin.seq + 1, flags: ACK, payload: "late" });
    expect(c.state).toBe("CLOSED");
    expect(h.recv().map((s) => s.flags)).toEqual([RST]);
  });

  it("FIN-WAIT-2 after close() times out with a RST (tcp_fin_timeout)", () => {
    const { h, c } = clientEstablished({ finWait2Timeout: 5000 }, []);
    c.close(h.now);
    const fin = h.recvOne();
    h.send({ seq: PEER_ISS + 1, ack: fin.seq + 1, flags: ACK });
    expect(c.state).toBe("FIN-WAIT-2");
    expect(h.advance().map((s) => s.flags & RST)).toEqual([RST]);
    expect(h.now).toBe(5000);
    expect(c.state).toBe("CLOSED");
  });

  it("a FIN before its data is held until the gap fills", () => {
    const { h, c } = clientEstablished({}, []);
    h.send({ seq: PEER_ISS + 4, ack: c.sndNxt, flags: FIN | ACK });
    expect(c.state).toBe("ESTABLISHED");
    h.send({ seq: PEER_ISS + 1, ack: c.sndNxt, flags: ACK, payload: "abc" });
    expect(c.state).toBe("CLOSE-WAIT");
  });

  it("abort sends RST and closes at once", () => {
    const { h, c } = clientEstablished({}, []);
    c.abort(h.now);
    expect(c.state).toBe("CLOSED");
    expect(h.recv().map((s) => [s.flags, s.seq])).toEqual([[RST, c.sndNxt]]);
  });
});

describe("RST and SYN on a synchronized connection (RFC 5961)", () => {
  it("a RST at exactly RCV.NXT resets: ECONNRESET", () => {
    const { h, c } = clientEstablished({}, []);
    h.send({ seq: PEER_ISS + 1, flags: RST });
    expect([c.state, c.error]).toEqual(["CLOSED", "ECONNRESET"]);
  });

  it("a RST in the window but not exact draws a challenge ACK; out of window it is ignored", () => {
    const { h, c } = clientEstablished({}, []);
    h.send({ seq: PEER_ISS + 100, flags: RST });
    expect(c.state).toBe("ESTABLISHED");
    const ch = h.recvOne();
    expect([ch.flags, ch.ack]).toEqual([ACK, PEER_ISS + 1]);
    h.send({ seq: PEER_ISS + 1_000_000, flags: RST });
    h.recvNothing();
    expect(c.status().challengeAcks).toBe(1);
  });

  it("challenge ACKs are rate-limited", () => {
    const { h, c } = clientEstablished({}, []);
    h.send({ seq: PEER_ISS + 5, flags: RST });
    h.recvOne();
    h.send({ seq: PEER_ISS + 6, flags: RST });
    h.recvNothing();
    h.now += 600;
    h.send({ seq: PEER_ISS + 7, flags: RST });
    h.recvOne();
    expect(c.status().drops.rateLimited).toBe(1);
  });

  it("a SYN on an established connection draws a challenge ACK and changes nothing", () => {
    const { h, c } = clientEstablished({}, []);
    h.send({ seq: PEER_ISS + 50, flags: SYN });
    expect(c.state).toBe("ESTABLISHED");
    expect(h.recvOne().flags).toBe(ACK);
    expect(c.status().drops.badSyn).toBe(1);
  });

  it("an ACK for data never sent is answered and dropped", () => {
    const { h, c } = clientEstablished({}, []);
    h.send({ seq: PEER_ISS + 1, ack: c.sndNxt + 1000, flags: ACK, payload: "x" });
    expect(c.readableLength).toBe(0);
    expect(c.status().drops.badAck).toBe(1);
    expect(h.recvOne().ack).toBe(PEER_ISS + 1);
  });

  it("a RST in CLOSE-WAIT reports EPIPE like Linux", () => {
    const { h, c } = clientEstablished({}, []);
    h.send({ seq: PEER_ISS + 1, ack: c.sndNxt, flags: FIN | ACK });
    h.send({ seq: PEER_ISS + 2, flags: RST });
    expect(c.error).toBe("EPIPE");
  });

  it("out-of-window data is answered with an ACK (not rate-limited) and dropped", () => {
    const { h, c } = clientEstablished({}, []);
    h.send({ seq: PEER_ISS - 500, ack: c.sndNxt, flags: ACK, payload: "old" });
    h.send({ seq: PEER_ISS - 400, ack: c.sndNxt, flags: ACK, payload: "old" });
    expect(h.recv().map((s) => s.ack)).toEqual([PEER_ISS + 1]);
    expect(c.status().drops.outOfWindow).toBe(2);
  });

  it("PAWS drops a segment with an old timestamp (RFC 7323 §5)", () => {
    const { h, c } = clientEstablished({}, SACK_TS);
    h.send({ seq: PEER_ISS + 1, ack: c.sndNxt, flags: ACK, payload: "new", options: [...ts(1000)] });
    h.recv();
    h.send({ seq: PEER_ISS + 4, ack: c.sndNxt, flags: ACK, payload: "old", options: [...ts(999)] });
    expect(c.readableLength).toBe(3);
    expect(c.status().drops.paws).toBe(1);
    expect(h.recvOne().ack).toBe(PEER_ISS + 4);
  });
});

describe("STATUS", () => {
  it("status() is a snapshot; status(into) refills an earlier snapshot without allocating a new one", () => {
    const { h, c } = clientEstablished({ noDelay: true }, [{ kind: 2, mss: 1000 }]);
    const before = c.status();
    c.write(new Uint8Array(2500), h.now);
    h.recv();
    h.send({ seq: PEER_ISS + 1 + 100_000, ack: c.sndNxt, flags: ACK, payload: "far" });
    const after = c.status();
    // The first snapshot did not move with the connection.
    expect([before.segmentsOut, before.bytesOut, before.inFlight, before.drops.outOfWindow]).toEqual([
      2, 0, 0, 0,
    ]);
    expect([after.bytesOut, after.inFlight, after.sendQueued, after.drops.outOfWindow]).toEqual([
      2500, 2500, 2500, 1,
    ]);
    const drops = before.drops;
    expect(c.status(before)).toBe(before);
    expect(before.drops).toBe(drops); // the nested counters are refilled in place too
    expect(before).toEqual(after);
    expect(Object.keys(before)).toEqual(Object.keys(after));
  });
});

describe("keepalive and ICMP", () => {
  it("keepalive probes an idle connection and times out when unanswered", () => {
    const { h, c } = clientEstablished(
      { keepAlive: true, keepAliveIdle: 10_000, keepAliveInterval: 1000, keepAliveCount: 3 },
      [],
    );
    const p = h.advance();
    expect(h.now).toBe(10_000);
    expect(p.map((s) => [s.seq, s.payloadLength])).toEqual([[c.sndUna - 1, 0]]);
    // An answer resets the idle timer.
    h.send({ seq: PEER_ISS + 1, ack: c.sndNxt, flags: ACK });
    expect(c.deadline()).toBe(h.now + 10_000);
    for (let i = 0; i < 4; i++) h.advance();
    expect(c.state).toBe("CLOSED");
    expect(c.error).toBe("ETIMEDOUT");
    expect(c.status().keepAliveProbes).toBe(4);
  });

  it("port unreachable while opening: ECONNREFUSED; a quoted sequence number out of flight is ignored", () => {
    const h = new Harness();
    h.conn = h.engine.connect(0, LOCAL, LPORT, REMOTE, RPORT);
    const syn = h.recvOne();
    expect(h.conn.icmpError("port-unreachable", syn.seq + 500, 0)).toBe(false);
    expect(h.conn.icmpError("port-unreachable", syn.seq, 0)).toBe(true);
    expect(h.conn.error).toBe("ECONNREFUSED");
  });

  it("host unreachable on an established connection is a soft error reported at the timeout", () => {
    const { h, c } = clientEstablished({ maxRetries: 1 }, []);
    c.write(new Uint8Array(10), h.now);
    const d = h.recvOne();
    expect(c.icmpError("host-unreachable", d.seq, h.now)).toBe(true);
    expect(c.state).toBe("ESTABLISHED");
    h.advance();
    h.advance();
    expect(c.error).toBe("EHOSTUNREACH");
  });

  it("fragmentation needed lowers the MSS and resends at the new size", () => {
    const { h, c } = clientEstablished({ noDelay: true }, [{ kind: 2, mss: 1460 }]);
    c.write(new Uint8Array(1460), h.now);
    const d = h.recvOne();
    expect(d.payloadLength).toBe(1460);
    expect(c.icmpError("frag-needed", d.seq, h.now, 1000)).toBe(true);
    expect(h.recv().map((s) => s.payloadLength)).toEqual([960, 500]);
  });
});

describe("sender silly-window avoidance", () => {
  it("holds a small window-limited segment, then the override (persist) timer sends it", () => {
    const { h, c } = clientEstablished({}, [{ kind: 2, mss: 1000 }]);
    // The peer's largest window was 65535; now it offers 300 bytes with nothing in flight.
    h.send({ seq: PEER_ISS + 1, ack: c.sndNxt, flags: ACK, window: 300 });
    c.write(new Uint8Array(2000), h.now);
    h.recvNothing(); // 300 < 65535 / 2: wait (RFC 9293 §3.8.6.2.1)
    const r = h.advance();
    expect(r.map((s) => s.payloadLength)).toEqual([300]);
    expect(c.status().windowProbes).toBe(1);
  });
});

describe("bounded memory against a hostile peer", () => {
  it("1000 one-byte segments each opening a new gap: at most maxOutOfOrderRanges are kept", () => {
    const { h, c } = clientEstablished({ maxOutOfOrderRanges: 16 }, linuxSynOptions(1, 0, 7));
    for (let i = 0; i < 1000; i++) {
      h.send({
        seq: PEER_ISS + 2 + 2 * i,
        ack: c.sndNxt,
        flags: ACK,
        payload: "x",
        options: [...ts(10 + i)],
      });
    }
    h.recv();
    const rb = c.receiveBuffer!;
    expect(rb.rangeCount).toBe(16);
    expect(rb.outOfOrderBytes).toBe(16);
    expect(c.status().drops.outOfOrderFull).toBe(1000 - 16);
    // The gap filled, the 16 kept bytes become readable with the filler.
    h.send({ seq: PEER_ISS + 1, ack: c.sndNxt, flags: ACK, payload: "y", options: [...ts(2000)] });
    expect(c.readableLength).toBe(2);
  });

  it("data far beyond the window is not stored", () => {
    const { h, c } = clientEstablished({ receiveBufferSize: 4096 }, []);
    h.send({ seq: PEER_ISS + 1 + 100_000, ack: c.sndNxt, flags: ACK, payload: new Uint8Array(1000) });
    expect(c.receiveBuffer!.rangeCount).toBe(0);
    expect(c.status().drops.outOfWindow).toBe(1);
  });
});
