// After the peer's FIN no more data can come, so reading what is left must not send a window
// update: in TIME-WAIT such an ACK reaches a peer that may already be CLOSED, whose listener
// answers with RST, and that RST ends our TIME-WAIT early (RFC 9293 §3.10.7.4 second step). In
// TIME-WAIT the only segments we send are the ACK of a retransmitted FIN (§3.10.7.4 eighth step)
// and the rate-limited ACKs §3.10.7.4 asks for (unacceptable segments, RFC 5961 challenges).
import { describe, expect, it } from "vitest";
import { ACK, clientEstablished, FIN, PEER_ISS, PSH, serverEstablished } from "./peer.js";

/** Enough data that reading it opens the window by more than an MSS (a window update is due). */
const DATA = 8000;

/** The peer sends DATA bytes (in 1000-byte segments) and then its FIN; we read nothing yet. */
function peerSendsThenFin(h: ReturnType<typeof clientEstablished>["h"], ack: number, fin = true): number {
  let seq = PEER_ISS + 1;
  for (let i = 0; i < DATA / 1000; i++) {
    h.send({ seq, ack, flags: ACK | PSH, payload: new Uint8Array(1000).fill(i) });
    seq += 1000;
  }
  if (fin) h.send({ seq, ack, flags: FIN | ACK });
  return seq;
}

function readAll(c: ReturnType<typeof clientEstablished>["c"], now: number): number {
  const out = new Uint8Array(1000);
  let total = 0;
  for (let n = c.read(out, now); n > 0; n = c.read(out, now)) total += n;
  return total;
}

describe("no window update once the peer's FIN arrived", () => {
  it("control: reading in ESTABLISHED sends a window update", () => {
    const { h, c } = clientEstablished({ receiveBufferSize: 8192 }, []);
    peerSendsThenFin(h, c.sndNxt, false);
    h.recv();
    expect(readAll(c, h.now)).toBe(DATA);
    const upd = h.recvOne();
    expect(upd.window).toBe(8192);
  });

  it("TIME-WAIT (FIN-WAIT-2, then the peer's data and FIN): reading the last bytes sends nothing", () => {
    const { h, c } = clientEstablished({ receiveBufferSize: 8192 }, []);
    c.shutdown(h.now);
    const fin = h.recvOne();
    h.send({ seq: PEER_ISS + 1, ack: fin.seq + 1, flags: ACK });
    expect(c.state).toBe("FIN-WAIT-2");
    const finSeq = peerSendsThenFin(h, fin.seq + 1);
    expect(c.state).toBe("TIME-WAIT");
    expect(h.recv().pop()!.ack).toBe(finSeq + 1);
    expect(readAll(c, h.now)).toBe(DATA);
    h.recvNothing();
    expect(c.deadline()).toBe(c.timeWaitAt);
    expect(h.advance()).toEqual([]);
    expect(c.state).toBe("CLOSED");
    expect(c.error).toBeUndefined();
  });

  it("TIME-WAIT straight from FIN-WAIT-1 (FIN and ACK of ours together)", () => {
    const { h, c } = clientEstablished({ receiveBufferSize: 8192 }, []);
    c.shutdown(h.now);
    const fin = h.recvOne();
    peerSendsThenFin(h, fin.seq + 1);
    expect(c.state).toBe("TIME-WAIT");
    h.recv();
    expect(readAll(c, h.now)).toBe(DATA);
    h.recvNothing();
  });

  it("CLOSING: reading sends nothing; our FIN is still retransmitted", () => {
    const { h, c } = clientEstablished({ receiveBufferSize: 8192 }, []);
    c.shutdown(h.now);
    const fin = h.recvOne();
    peerSendsThenFin(h, fin.seq); // does not acknowledge our FIN
    expect(c.state).toBe("CLOSING");
    h.recv();
    expect(readAll(c, h.now)).toBe(DATA);
    h.recvNothing();
    const rtx = h.advance();
    expect(rtx.map((s) => [s.seq, s.flags & FIN])).toEqual([[fin.seq, FIN]]);
  });

  it("CLOSE-WAIT and LAST-ACK: reading sends nothing", () => {
    const { h, c } = serverEstablished({ receiveBufferSize: 8192 }, []);
    peerSendsThenFin(h, c.sndNxt);
    expect(c.state).toBe("CLOSE-WAIT");
    h.recv();
    const out = new Uint8Array(4000);
    expect(c.read(out, h.now)).toBe(4000);
    h.recvNothing();
    c.shutdown(h.now);
    expect(c.state).toBe("LAST-ACK");
    expect(h.recvOne().flags & FIN).toBe(FIN);
    expect(c.read(out, h.now)).toBe(4000);
    h.recvNothing();
  });
});

describe("TIME-WAIT sends nothing else", () => {
  /** A client in TIME-WAIT after an active close; returns the sequence numbers involved. */
  function timeWait(config = {}) {
    const est = clientEstablished({ msl: 1000, ...config }, []);
    const { h, c } = est;
    c.shutdown(h.now);
    const fin = h.recvOne();
    h.send({ seq: PEER_ISS + 1, ack: fin.seq + 1, flags: ACK | PSH, payload: "last words" });
    h.send({ seq: PEER_ISS + 11, ack: fin.seq + 1, flags: FIN | ACK });
    expect(c.state).toBe("TIME-WAIT");
    expect(h.recv().pop()!.ack).toBe(PEER_ISS + 12);
    return { ...est, fin };
  }

  it("keepalive does not probe a connection in TIME-WAIT, nor does anything hold its deadline", () => {
    const { h, c } = timeWait({ keepAlive: true, keepAliveIdle: 100, keepAliveInterval: 100 });
    // A stray in-window ACK would have re-armed keepalive before; it must not.
    h.send({ seq: PEER_ISS + 12, ack: c.sndMax, flags: ACK });
    h.recvNothing();
    expect(c.deadline()).toBe(c.timeWaitAt);
    expect(h.advance()).toEqual([]);
    expect(c.state).toBe("CLOSED");
    expect(c.status().keepAliveProbes).toBe(0);
  });

  it("only a retransmitted FIN is acknowledged; a bare ACK and stray data are not", () => {
    const { h, c, fin } = timeWait();
    h.send({ seq: PEER_ISS + 12, ack: fin.seq + 1, flags: ACK });
    h.recvNothing();
    // RFC 9293 §3.10.7.4 seventh step in TIME-WAIT: "Ignore the segment text."
    h.send({ seq: PEER_ISS + 12, ack: fin.seq + 1, flags: ACK, payload: "x" });
    h.recvNothing();
    h.send({ seq: PEER_ISS + 11, ack: fin.seq + 1, flags: FIN | ACK });
    expect(h.recv().map((s) => [s.flags, s.ack])).toEqual([[ACK, PEER_ISS + 12]]);
    expect(c.state).toBe("TIME-WAIT");
  });

  it("close() with unread data in TIME-WAIT discards it and keeps TIME-WAIT (no reset, no early end)", () => {
    const { h, c } = timeWait();
    expect(c.readableLength).toBe(10);
    c.close(h.now);
    expect(c.state).toBe("TIME-WAIT");
    expect(c.readableLength).toBe(0);
    h.recvNothing();
    expect(h.advance()).toEqual([]);
    expect(c.state).toBe("CLOSED");
  });
});
