import { decodeEthernet, type EthernetView } from "@userstack/ethernet";
import { decodePcap } from "@userstack/pcap";
import { readFixture } from "@userstack/testkit";
import { DecodeError, toHex, u16, u32 } from "@userstack/wire";
import { describe, expect, it } from "vitest";
import {
  closedPortReply,
  decodeTcp,
  TcpEvent,
  TcpInput,
  TcpSegmentOut,
  type TcpView,
  writeTcpSegment,
} from "../src/index.js";
import {
  ACK,
  clientEstablished,
  FIN,
  Harness,
  LOCAL,
  LPORT,
  linuxSynOptions,
  PEER_ISS,
  REMOTE,
  RPORT,
  RST,
  SYN,
  serverEstablished,
} from "./peer.js";

describe("active open (SYN-SENT, RFC 9293 §3.10.7.3)", () => {
  it("syn_sent_syn_ack: sends a SYN with Linux's options, then ACKs the SYN-ACK and is ESTABLISHED", () => {
    const h = new Harness();
    h.conn = h.engine.connect(0, LOCAL, LPORT, REMOTE, RPORT);
    expect(h.conn.state).toBe("SYN-SENT");
    const syn = h.recvOne();
    expect(syn.flags).toBe(SYN);
    expect(syn.ack).toBe(0);
    expect(syn.window).toBe(65535);
    // MSS from the 1500-byte MTU, SACK-permitted, timestamps, window scale 6 for a 2 MiB buffer.
    expect(syn.options).toEqual([
      { kind: 2, mss: 1460 },
      { kind: 4 },
      { kind: 8, tsVal: syn.tsVal, tsEcr: 0 },
      { kind: 1 },
      { kind: 3, shift: 6 },
    ]);
    h.send({ seq: PEER_ISS, ack: syn.seq + 1, flags: SYN | ACK, options: linuxSynOptions(500, syn.tsVal) });
    expect(h.conn.state).toBe("ESTABLISHED");
    expect(h.conn.takeEvents() & TcpEvent.Established).toBeTruthy();
    const ack = h.recvOne();
    expect(ack.flags).toBe(ACK);
    expect([ack.seq, ack.ack]).toEqual([syn.seq + 1, PEER_ISS + 1]);
    expect(ack.tsEcr).toBe(500);
    expect(ack.window).toBe((256 * 1024) >> 3);
    const st = h.conn.status();
    expect([st.mss, st.timestamps, st.sack, st.windowScaling]).toEqual([1448, true, true, true]);
  });

  it("syn_sent_rst_ack: a RST acknowledging the SYN refuses the connection", () => {
    const h = new Harness();
    h.conn = h.engine.connect(0, LOCAL, LPORT, REMOTE, RPORT);
    const syn = h.recvOne();
    h.send({ seq: 0, ack: syn.seq + 1, flags: RST | ACK, window: 0 });
    expect(h.conn.state).toBe("CLOSED");
    expect(h.conn.error).toBe("ECONNREFUSED");
    const ev = h.conn.takeEvents();
    expect(ev & TcpEvent.Error && ev & TcpEvent.Closed).toBeTruthy();
    h.recvNothing();
  });

  it("syn_sent_rst_no_ack: a RST without ACK is ignored (RFC 5961 §3.2)", () => {
    const h = new Harness();
    h.conn = h.engine.connect(0, LOCAL, LPORT, REMOTE, RPORT);
    h.recvOne();
    h.send({ seq: 0, flags: RST });
    expect(h.conn.state).toBe("SYN-SENT");
    expect(h.conn.status().drops.badRst).toBe(1);
  });

  it("syn_sent_bad_ack: an ACK for something we never sent draws <SEQ=SEG.ACK><CTL=RST>", () => {
    const h = new Harness();
    h.conn = h.engine.connect(0, LOCAL, LPORT, REMOTE, RPORT);
    const syn = h.recvOne();
    h.send({ seq: PEER_ISS, ack: syn.seq + 1000, flags: SYN | ACK });
    expect(h.conn.state).toBe("SYN-SENT");
    const rst = h.recvOne();
    expect(rst.flags).toBe(RST);
    expect(rst.seq).toBe(syn.seq + 1000);
  });

  it("syn_sent_syn: simultaneous open goes through SYN-RECEIVED to ESTABLISHED", () => {
    const h = new Harness();
    h.conn = h.engine.connect(0, LOCAL, LPORT, REMOTE, RPORT);
    const syn = h.recvOne();
    h.send({ seq: PEER_ISS, flags: SYN, options: linuxSynOptions(7) });
    expect(h.conn.state).toBe("SYN-RECEIVED");
    const synAck = h.recvOne();
    expect(synAck.flags).toBe(SYN | ACK);
    expect([synAck.seq, synAck.ack]).toEqual([syn.seq, PEER_ISS + 1]);
    // The peer's SYN-ACK (its answer to our SYN) completes the handshake.
    h.send({ seq: PEER_ISS, ack: syn.seq + 1, flags: SYN | ACK, options: linuxSynOptions(8, synAck.tsVal) });
    h.send({
      seq: PEER_ISS + 1,
      ack: syn.seq + 1,
      flags: ACK,
      options: [{ kind: 8, tsVal: 9, tsEcr: synAck.tsVal }],
    });
    expect(h.conn.state).toBe("ESTABLISHED");
  });

  it("syn_sent_timeout: the SYN is retransmitted with backoff, then ETIMEDOUT (tcp_syn_retries)", () => {
    const h = new Harness({ synRetries: 3 });
    h.conn = h.engine.connect(0, LOCAL, LPORT, REMOTE, RPORT);
    const syn = h.recvOne();
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = h.advance();
      expect(r.length).toBe(1);
      expect(r[0]!.flags).toBe(SYN);
      expect(r[0]!.seq).toBe(syn.seq);
      times.push(h.now);
    }
    expect(times).toEqual([1000, 3000, 7000]); // initial RTO 1 s, doubled each time
    h.advance();
    expect(h.now).toBe(15000);
    expect(h.conn.state).toBe("CLOSED");
    expect(h.conn.error).toBe("ETIMEDOUT");
  });

  it("syn_sent_close: closing before the handshake just deletes the TCB", () => {
    const h = new Harness();
    h.conn = h.engine.connect(0, LOCAL, LPORT, REMOTE, RPORT);
    h.recvOne();
    h.conn.close(h.now);
    expect(h.conn.state).toBe("CLOSED");
    h.recvNothing();
  });

  it("ISNs differ per 4-tuple and advance with the clock (RFC 6528)", () => {
    const h = new Harness();
    const a = h.engine.connect(0, LOCAL, 1000, REMOTE, 80);
    const b = h.engine.connect(0, LOCAL, 1001, REMOTE, 80);
    const c = h.engine.connect(1, LOCAL, 1000, REMOTE, 80);
    expect(a.iss).not.toBe(b.iss);
    expect((c.iss - a.iss) >>> 0).toBe(250); // 4 µs ticks: 250 per ms
  });
});

describe("option negotiation", () => {
  it("without any option from the peer: MSS 536, no scaling, no timestamps, no SACK", () => {
    const { h, c } = clientEstablished({}, []);
    const st = c.status();
    expect([st.mss, st.windowScaling, st.timestamps, st.sack]).toEqual([536, false, false, false]);
    c.write(new Uint8Array(2000), h.now);
    const segs = h.recv();
    // Nagle holds the last partial segment while data is unacknowledged (RFC 9293 §3.7.4).
    expect(segs.map((s) => s.payloadLength)).toEqual([536, 536, 536]);
    for (const s of segs) expect(s.options).toEqual([]);
    h.send({ seq: PEER_ISS + 1, ack: segs[2]!.seq + 536, flags: ACK });
    expect(h.recv().map((s) => s.payloadLength)).toEqual([392]);
    // Unscaled window: min(buffer, 65535).
    expect(segs[0]!.window).toBe(65535);
  });

  it("MSS only: the peer's MSS bounds our segments; no timestamps on them", () => {
    const { h, c } = clientEstablished({}, [{ kind: 2, mss: 1000 }]);
    c.write(new Uint8Array(1500), h.now);
    const first = h.recvOne();
    expect(first.payloadLength).toBe(1000);
    expect(first.hasTimestamps).toBe(false);
    h.send({ seq: PEER_ISS + 1, ack: first.seq + 1000, flags: ACK });
    expect(h.recv().map((s) => s.payloadLength)).toEqual([500]);
  });

  it("MSS above our MTU is bounded by the MTU", () => {
    const { h, c } = clientEstablished({ mtu: 1280 }, [{ kind: 2, mss: 8960 }]);
    expect(c.status().mss).toBe(1240);
    void h;
  });

  it("window scale: ours applied to the field we send, theirs to the field we read; above 14 means 14", () => {
    const { h, c } = clientEstablished({}, [{ kind: 2, mss: 1460 }, { kind: 1 }, { kind: 3, shift: 20 }]);
    expect(c.sndWscale).toBe(14);
    h.send({ seq: PEER_ISS + 1, ack: c.sndNxt, flags: ACK, window: 2 });
    expect(c.status().sendWindow).toBe(2 << 14);
    c.write(new Uint8Array(10), h.now);
    expect(h.recvOne().window).toBe((256 * 1024 - 0) >> 3);
  });

  it("window scale offered by us only: neither side scales (RFC 7323 §2.2)", () => {
    const { h, c } = clientEstablished({}, [{ kind: 2, mss: 1460 }]);
    expect([c.sndWscale, c.rcvWscale]).toEqual([0, 0]);
    c.write(new Uint8Array(10), h.now);
    expect(h.recvOne().window).toBe(65535);
  });

  it("timestamps: every segment carries TSval/TSecr and TSecr echoes TS.Recent", () => {
    const { h, c } = clientEstablished({}, [
      { kind: 2, mss: 1460 },
      { kind: 1 },
      { kind: 1 },
      { kind: 8, tsVal: 77, tsEcr: 1 },
    ]);
    h.now = 10;
    h.send({
      seq: PEER_ISS + 1,
      ack: c.sndNxt,
      flags: ACK | 8,
      payload: "x",
      options: [{ kind: 1 }, { kind: 1 }, { kind: 8, tsVal: 90, tsEcr: 1 }],
    });
    const a = h.recvOne();
    expect(a.hasTimestamps).toBe(true);
    expect(a.tsEcr).toBe(90);
    expect(a.options.slice(0, 2)).toEqual([{ kind: 1 }, { kind: 1 }]);
  });

  it("timestamps disabled locally: the SYN offers none and the connection uses none", () => {
    const h = new Harness({ timestamps: false, sack: false, windowScaling: false });
    h.conn = h.engine.connect(0, LOCAL, LPORT, REMOTE, RPORT);
    const syn = h.recvOne();
    expect(syn.options).toEqual([{ kind: 2, mss: 1460 }]);
    h.send({ seq: PEER_ISS, ack: syn.seq + 1, flags: SYN | ACK, options: linuxSynOptions() });
    expect(h.conn.status().timestamps).toBe(false);
    expect(h.conn.status().sack).toBe(false);
    expect(h.recvOne().options).toEqual([]);
  });

  it("SACK-permitted without timestamps: Linux's NOP NOP SACK-permitted layout", () => {
    const h = new Harness({ timestamps: false });
    h.conn = h.engine.connect(0, LOCAL, LPORT, REMOTE, RPORT);
    expect(h.recvOne().options).toEqual([
      { kind: 2, mss: 1460 },
      { kind: 1 },
      { kind: 1 },
      { kind: 4 },
      { kind: 1 },
      { kind: 3, shift: 6 },
    ]);
  });

  for (const [name, offered, expected] of [
    ["nothing", [{ kind: 2, mss: 1460 }], [{ kind: 2, mss: 1460 }]],
    [
      "window scale",
      [{ kind: 2, mss: 1460 }, { kind: 1 }, { kind: 3, shift: 7 }],
      [{ kind: 2, mss: 1460 }, { kind: 1 }, { kind: 3, shift: 6 }],
    ],
    [
      "SACK",
      [{ kind: 2, mss: 1460 }, { kind: 1 }, { kind: 1 }, { kind: 4 }],
      [{ kind: 2, mss: 1460 }, { kind: 1 }, { kind: 1 }, { kind: 4 }],
    ],
    ["everything (Linux)", linuxSynOptions(5), "all"],
  ] as const) {
    it(`passive open answers only what the SYN offered: ${name}`, () => {
      const { synAck, c } = serverEstablished({}, offered as never);
      if (expected === "all") {
        expect(synAck.options).toEqual([
          { kind: 2, mss: 1460 },
          { kind: 4 },
          { kind: 8, tsVal: synAck.tsVal, tsEcr: 5 },
          { kind: 1 },
          { kind: 3, shift: 6 },
        ]);
        expect(c.status().timestamps).toBe(true);
      } else {
        expect(synAck.options).toEqual(expected);
        expect(c.status().timestamps).toBe(false);
      }
    });
  }
});

describe("passive open (LISTEN, SYN-RECEIVED)", () => {
  it("listen_syn then syn_received_ack: SYN-ACK, ESTABLISHED, queued for accept()", () => {
    const h = new Harness();
    const l = (h.listener = h.engine.listen(0, LPORT));
    h.send({ seq: PEER_ISS, flags: SYN, options: linuxSynOptions() });
    expect(h.conn.state).toBe("SYN-RECEIVED");
    expect(l.synQueueLength).toBe(1);
    const synAck = h.recvOne();
    expect(synAck.flags).toBe(SYN | ACK);
    expect(synAck.ack).toBe(PEER_ISS + 1);
    expect(l.accept()).toBeUndefined();
    h.send({
      seq: PEER_ISS + 1,
      ack: synAck.seq + 1,
      flags: ACK,
      options: [{ kind: 8, tsVal: 101, tsEcr: synAck.tsVal }],
    });
    expect(h.conn.state).toBe("ESTABLISHED");
    expect(l.takeEvents() & TcpEvent.Acceptable).toBeTruthy();
    expect(l.synQueueLength).toBe(0);
    expect(l.accept()).toBe(h.conn);
  });

  it("listen_ack and listen_syn_ack: answered <SEQ=SEG.ACK><CTL=RST>; listen_rst is ignored", () => {
    const h = new Harness();
    h.listener = h.engine.listen(0, LPORT);
    h.send({ seq: 5, ack: 777, flags: ACK });
    let r = h.recvOne();
    expect([r.flags, r.seq]).toEqual([RST, 777]);
    h.send({ seq: 5, ack: 778, flags: SYN | ACK });
    r = h.recvOne();
    expect([r.flags, r.seq]).toEqual([RST, 778]);
    h.send({ seq: 5, flags: RST });
    h.recvNothing();
  });

  it("syn_received_rst: the half-open connection goes away silently (back to LISTEN)", () => {
    const h = new Harness();
    const l = (h.listener = h.engine.listen(0, LPORT));
    h.send({ seq: PEER_ISS, flags: SYN });
    h.recvOne();
    const child = h.conn;
    h.send({ seq: PEER_ISS + 1, flags: RST });
    expect(child.state).toBe("CLOSED");
    expect(child.error).toBeUndefined();
    expect(l.synQueueLength).toBe(0);
  });

  it("syn_received_dup_syn: a retransmitted SYN gets the SYN-ACK again", () => {
    const h = new Harness();
    h.listener = h.engine.listen(0, LPORT);
    h.send({ seq: PEER_ISS, flags: SYN });
    const first = h.recvOne();
    h.conn.input(h.view({ seq: PEER_ISS, flags: SYN }), h.now);
    const again = h.recvOne();
    expect([again.flags, again.seq, again.ack]).toEqual([SYN | ACK, first.seq, PEER_ISS + 1]);
  });

  it("syn_received_bad_ack: an ACK outside SND.UNA..SND.NXT draws a RST", () => {
    const h = new Harness();
    h.listener = h.engine.listen(0, LPORT);
    h.send({ seq: PEER_ISS, flags: SYN });
    const synAck = h.recvOne();
    h.conn.input(h.view({ seq: PEER_ISS + 1, ack: synAck.seq + 5, flags: ACK }), h.now);
    const r = h.recvOne();
    expect([r.flags, r.seq]).toEqual([RST, synAck.seq + 5]);
    expect(h.conn.state).toBe("SYN-RECEIVED");
  });

  it("syn_received_timeout: SYN-ACK retransmitted synAckRetries times, then forgotten", () => {
    const h = new Harness({ synAckRetries: 2 });
    const l = (h.listener = h.engine.listen(0, LPORT));
    h.send({ seq: PEER_ISS, flags: SYN });
    h.recvOne();
    expect(h.advance().map((s) => s.flags)).toEqual([SYN | ACK]);
    expect(h.advance().map((s) => s.flags)).toEqual([SYN | ACK]);
    h.advance();
    expect(h.conn.state).toBe("CLOSED");
    expect(l.synQueueLength).toBe(0);
  });

  it("SYN cookies when the SYN queue is full: stateless SYN-ACK, the ACK creates the connection", () => {
    const h = new Harness({ synQueueSize: 1 });
    const l = (h.listener = h.engine.listen(0, LPORT));
    h.send({ seq: 1, flags: SYN });
    h.recvOne();
    const first = h.conn;
    // Second SYN, another source port: no room in the SYN queue.
    const syn2 = h.view({ seq: 5000, flags: SYN, options: linuxSynOptions(300) });
    const syn2Bytes = syn2.bytes.slice();
    syn2Bytes[0] = 0x11; // source port 0x1150
    const v2 = decodeTcp(syn2Bytes) as TcpView;
    expect(l.input(v2, h.now, REMOTE, LOCAL)).toBeUndefined();
    expect(l.stats.cookiesSent).toBe(1);
    const replies: TcpView[] = [];
    l.dispatch(h.now, (s) => {
      const b = new Uint8Array(100);
      replies.push(decodeTcp(b.subarray(0, writeTcpSegment(s, b)), LOCAL, REMOTE) as TcpView);
    });
    expect(replies.length).toBe(1);
    const ck = replies[0]!;
    expect(ck.flags).toBe(SYN | ACK);
    expect(ck.destinationPort).toBe(0x1150);
    expect(ck.mss).toBe(1460);
    expect(ck.sackPermitted).toBe(true);
    expect(ck.windowScale).toBe(6);
    expect(l.synQueueLength).toBe(1);
    // The ACK completing the cookie handshake.
    const ackSeg = h.view({
      seq: 5001,
      ack: ck.seq + 1,
      flags: ACK,
      payload: "hi",
      options: [{ kind: 1 }, { kind: 1 }, { kind: 8, tsVal: 301, tsEcr: ck.tsVal }],
    });
    const ab = ackSeg.bytes.slice();
    ab[0] = 0x11;
    const child = l.input(decodeTcp(ab) as TcpView, h.now, REMOTE, LOCAL);
    expect(child).toBeDefined();
    expect(child!.state).toBe("ESTABLISHED");
    expect(child!.status()).toMatchObject({ mss: 1448, timestamps: true, sack: true, windowScaling: true });
    expect(child!.sndWscale).toBe(7);
    expect(child!.readableLength).toBe(2);
    expect(l.stats.cookiesAccepted).toBe(1);
    expect(l.accept()).toBe(child);
    expect(first.state).toBe("SYN-RECEIVED");
    // A forged cookie is refused with a RST.
    const forged = h.view({ seq: 9001, ack: (ck.seq + 12345) >>> 0, flags: ACK });
    const fb = forged.bytes.slice();
    fb[0] = 0x12;
    expect(l.input(decodeTcp(fb) as TcpView, h.now, REMOTE, LOCAL)).toBeUndefined();
    expect(l.stats.drops.badCookie).toBe(1);
  });

  it("a full accept queue drops new SYNs (Linux) and holds the completing ACK", () => {
    const h = new Harness({ backlog: 1 });
    const l = (h.listener = h.engine.listen(0, LPORT));
    h.send({ seq: PEER_ISS, flags: SYN });
    const synAck = h.recvOne();
    h.send({ seq: PEER_ISS + 1, ack: synAck.seq + 1, flags: ACK });
    expect(l.acceptQueueLength).toBe(1);
    const other = h.view({ seq: 1, flags: SYN }).bytes.slice();
    other[0] = 0x22;
    expect(l.input(decodeTcp(other) as TcpView, h.now, REMOTE, LOCAL)).toBeUndefined();
    expect(l.stats.drops.listenOverflow).toBe(1);
  });

  it("closing a listener resets connections not yet accepted", () => {
    const h = new Harness();
    const l = (h.listener = h.engine.listen(0, LPORT));
    h.send({ seq: PEER_ISS, flags: SYN });
    const synAck = h.recvOne();
    const gone = l.close(h.now);
    expect(gone).toEqual([h.conn]);
    expect(h.conn.state).toBe("CLOSED");
    const rst = h.recv();
    expect(rst.map((s) => [s.flags, s.seq])).toEqual([[RST, synAck.seq + 1]]);
  });
});

describe("closed port (RFC 9293 §3.10.7.1)", () => {
  it("answers a SYN exactly as the Linux kernel did in tcp-rst.pcap", () => {
    const f = decodePcap(readFixture("tcp-rst.pcap"));
    if (f instanceof DecodeError) throw new Error(String(f));
    const cut = (i: number) => {
      const ip = (decodeEthernet(f.records[i]!.data) as EthernetView).payload;
      return { tcp: ip.subarray((ip[0]! & 15) * 4, u16(ip, 2)), src: u32(ip, 12), dst: u32(ip, 16) };
    };
    const syn = cut(0);
    const linuxRst = cut(1);
    const out = new TcpSegmentOut();
    expect(closedPortReply(decodeTcp(syn.tcp, syn.src, syn.dst) as TcpView, syn.src, syn.dst, out)).toBe(
      true,
    );
    const buf = new Uint8Array(64);
    const end = writeTcpSegment(out, buf, 0);
    expect(toHex(buf.subarray(0, end))).toBe(toHex(linuxRst.tcp));
  });

  it("answers an ACK with <SEQ=SEG.ACK><CTL=RST> and never answers a RST", () => {
    const h = new Harness();
    const out = new TcpSegmentOut();
    expect(closedPortReply(h.view({ seq: 1, ack: 99, flags: ACK, payload: "abc" }), REMOTE, LOCAL, out)).toBe(
      true,
    );
    expect([out.header.flags, out.header.seq, out.header.ack]).toEqual([RST, 99, 0]);
    expect(closedPortReply(h.view({ seq: 1, flags: RST }), REMOTE, LOCAL, out)).toBe(false);
    // FIN without ACK: SEG.LEN counts the FIN.
    closedPortReply(h.view({ seq: 10, flags: FIN, payload: "ab" }), REMOTE, LOCAL, out);
    expect([out.header.flags, out.header.seq, out.header.ack]).toEqual([RST | ACK, 0, 13]);
  });
});

describe("TIME-WAIT reuse (RFC 6191)", () => {
  it("a SYN with a higher sequence number ends TIME-WAIT and goes to the listener", () => {
    const { h, c } = clientEstablished();
    c.close(h.now);
    const fin = h.recvOne();
    h.send({ seq: PEER_ISS + 1, ack: fin.seq + 1, flags: FIN | ACK });
    expect(c.state).toBe("TIME-WAIT");
    h.recvOne();
    expect(c.input(h.view({ seq: PEER_ISS + 100, flags: SYN }), h.now)).toBe(TcpInput.Reopen);
    expect(c.state).toBe("CLOSED");
  });
  it("an old SYN does not", () => {
    const { h, c } = clientEstablished();
    c.close(h.now);
    const fin = h.recvOne();
    h.send({ seq: PEER_ISS + 1, ack: fin.seq + 1, flags: FIN | ACK });
    h.recvOne();
    expect(c.input(h.view({ seq: PEER_ISS - 100, flags: SYN }), h.now)).toBe(TcpInput.Done);
    expect(c.state).toBe("TIME-WAIT");
  });
});
