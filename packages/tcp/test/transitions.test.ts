// The remaining transitions of RFC 9293 §3.10, table-driven: a RST at RCV.NXT in every
// synchronized state, ABORT in every state, CLOSE in SYN-RECEIVED, plus the Linux-like timers
// (user timeout, slow-start restart, the adaptive delayed-ACK timeout).
import { describe, expect, it } from "vitest";
import type { TcpConnection } from "../src/index.js";
import {
  ACK,
  clientEstablished,
  FIN,
  Harness,
  LOCAL,
  LPORT,
  PEER_ISS,
  REMOTE,
  RPORT,
  RST,
  SYN,
  serverEstablished,
} from "./peer.js";

function reach(state: string): { h: Harness; c: TcpConnection; rcvNxt: number } {
  if (state === "SYN-SENT") {
    const h = new Harness();
    h.conn = h.engine.connect(0, LOCAL, LPORT, REMOTE, RPORT);
    h.recv();
    return { h, c: h.conn, rcvNxt: 0 };
  }
  if (state === "SYN-RECEIVED") {
    const h = new Harness();
    h.listener = h.engine.listen(0, LPORT);
    h.send({ seq: PEER_ISS, flags: SYN });
    h.recv();
    return { h, c: h.conn, rcvNxt: PEER_ISS + 1 };
  }
  const passive = state === "CLOSE-WAIT" || state === "LAST-ACK";
  const { h, c } = passive ? serverEstablished({}, []) : clientEstablished({}, []);
  let rcvNxt = PEER_ISS + 1;
  if (state === "FIN-WAIT-1" || state === "FIN-WAIT-2" || state === "CLOSING" || state === "TIME-WAIT") {
    c.shutdown(h.now);
    h.recv();
    if (state === "FIN-WAIT-2" || state === "TIME-WAIT") h.send({ seq: rcvNxt, ack: c.sndMax, flags: ACK });
    if (state === "CLOSING") h.send({ seq: rcvNxt, ack: c.sndUna, flags: FIN | ACK });
    if (state === "TIME-WAIT") h.send({ seq: rcvNxt, ack: c.sndMax, flags: FIN | ACK });
    if (state === "CLOSING" || state === "TIME-WAIT") rcvNxt++;
  }
  if (passive) {
    h.send({ seq: rcvNxt, ack: c.sndUna, flags: FIN | ACK });
    rcvNxt++;
    if (state === "LAST-ACK") c.close(h.now);
  }
  h.recv();
  expect(c.state).toBe(state);
  return { h, c, rcvNxt };
}

describe("RST at RCV.NXT in each synchronized state (RFC 9293 §3.10.7.4 second check)", () => {
  for (const [state, error] of [
    ["SYN-RECEIVED", undefined],
    ["ESTABLISHED", "ECONNRESET"],
    ["FIN-WAIT-1", "ECONNRESET"],
    ["FIN-WAIT-2", "ECONNRESET"],
    ["CLOSE-WAIT", "EPIPE"],
    ["CLOSING", undefined],
    ["LAST-ACK", undefined],
    ["TIME-WAIT", undefined],
  ] as const) {
    it(`${state} → CLOSED${error ? ` with ${error}` : ""}`, () => {
      const { h, c, rcvNxt } = reach(state);
      h.send({ seq: rcvNxt, flags: RST });
      expect(c.state).toBe("CLOSED");
      expect(c.error).toBe(error);
      h.recvNothing(); // a reset is never answered
    });
  }
});

describe("ABORT in each state (RFC 9293 §3.10.5)", () => {
  for (const [state, sendsRst] of [
    ["SYN-SENT", false],
    ["SYN-RECEIVED", true],
    ["ESTABLISHED", true],
    ["FIN-WAIT-1", true],
    ["FIN-WAIT-2", true],
    ["CLOSE-WAIT", true],
    ["CLOSING", false],
    ["LAST-ACK", false],
    ["TIME-WAIT", false],
  ] as const) {
    it(`${state}: ${sendsRst ? "RST, then" : "no RST,"} CLOSED`, () => {
      const { h, c } = reach(state);
      c.abort(h.now);
      expect(c.state).toBe("CLOSED");
      expect(h.recv().map((s) => s.flags)).toEqual(sendsRst ? [RST] : []);
      expect(c.write(new Uint8Array(1), h.now)).toBe(-1);
      expect(c.read(new Uint8Array(1), h.now)).toBe(-1);
    });
  }
});

describe("CLOSE in SYN-RECEIVED", () => {
  it("queues the FIN until ESTABLISHED, then goes to FIN-WAIT-1 and sends it", () => {
    const { h, c } = reach("SYN-RECEIVED");
    c.shutdown(h.now);
    expect(c.state).toBe("SYN-RECEIVED");
    h.send({ seq: PEER_ISS + 1, ack: c.iss + 1, flags: ACK });
    expect(c.state).toBe("FIN-WAIT-1");
    const fin = h.recvOne();
    expect(fin.flags).toBe(FIN | ACK);
    expect(fin.seq).toBe(c.iss + 1);
  });
});

describe("Linux-like timers", () => {
  it("user timeout: unacknowledged data for userTimeout ms fails the connection", () => {
    const { h, c } = clientEstablished({ userTimeout: 3000 }, []);
    c.write(new Uint8Array(10), h.now);
    h.recv();
    while (c.state !== "CLOSED") h.advance();
    expect(h.now).toBe(3000);
    expect(c.error).toBe("ETIMEDOUT");
  });

  it("slow-start restart: after idling longer than the RTO, cwnd falls back to the initial window", () => {
    const { h, c } = clientEstablished({ noDelay: true }, [{ kind: 2, mss: 1000 }]);
    // Grow cwnd: 10 segments out, all acknowledged.
    c.write(new Uint8Array(10_000), h.now);
    h.recv();
    h.send({ seq: PEER_ISS + 1, ack: c.sndMax, flags: ACK });
    expect(c.status().cwnd).toBeGreaterThan(10_000);
    h.now += 5000;
    c.write(new Uint8Array(30_000), h.now);
    expect(h.recv().length).toBe(10);
    expect(c.status().cwnd).toBe(10_000);
  });

  it("the delayed ACK timeout adapts to the data gap within [delayedAckMin, delayedAckMax]", () => {
    const { h, c } = clientEstablished({}, []);
    let seq = PEER_ISS + 1;
    const sendOne = () => {
      h.send({ seq, ack: c.sndNxt, flags: ACK, payload: "x" });
      seq++;
    };
    for (let i = 0; i < 16; i++) sendOne(); // use up quickack
    h.recv();
    // Segments arriving a little faster than the current timeout make it grow (Linux
    // tcp_event_data_recv), up to delayedAckMax.
    const atos: number[] = [];
    for (let i = 0; i < 20; i++) {
      h.now += Math.floor(c.ato * 0.9);
      sendOne();
      atos.push(c.ato);
      h.recv();
    }
    expect(atos[0]).toBeGreaterThan(40);
    expect(Math.max(...atos)).toBe(200);
    // Back-to-back segments pull it down to the minimum again.
    for (let i = 0; i < 10; i++) {
      h.now += 1;
      sendOne();
    }
    expect(c.ato).toBeLessThan(45);
    expect(c.ato).toBeGreaterThanOrEqual(40);
  });
});

describe("socket options at run time", () => {
  it("setNoDelay(true) releases what Nagle held back; it does not touch other connections", () => {
    const { h, c } = clientEstablished({}, []);
    c.write(new Uint8Array(10), h.now);
    h.recvOne();
    c.write(new Uint8Array(10), h.now);
    h.recvNothing();
    c.setNoDelay(true, h.now);
    expect(h.recvOne().payloadLength).toBe(10);
    expect(h.engine.config.noDelay).toBe(false);
  });
  it("setKeepAlive arms and disarms the keepalive timer", () => {
    const { h, c } = clientEstablished({}, []);
    expect(c.deadline()).toBeUndefined();
    c.setKeepAlive(true, 1000, h.now);
    expect(c.deadline()).toBe(h.now + 1000);
    c.setKeepAlive(false, 0, h.now);
    expect(c.deadline()).toBeUndefined();
  });
  it("a listener discards SYN+FIN", () => {
    const h = new Harness();
    const l = (h.listener = h.engine.listen(0, LPORT));
    h.send({ seq: 1, flags: SYN | FIN });
    expect(l.synQueueLength).toBe(0);
    h.recvNothing();
  });
});
