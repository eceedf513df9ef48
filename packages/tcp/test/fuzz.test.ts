// Random and mutated segments into engines in every state: nothing throws, state stays
// consistent, memory stays bounded (buffers, out-of-order ranges, SACK scoreboard, listener
// queues), and whatever the engine emits is a well-formed segment.
import { DecodeError } from "@userstack/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeTcp,
  encodeTcp,
  type TcpConnection,
  type TcpOption,
  type TcpSegmentOut,
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
  SYN,
  serverEstablished,
} from "./peer.js";

const CONFIG = { receiveBufferSize: 8192, sendBufferSize: 8192, maxOutOfOrderRanges: 8 };

/** A fresh connection in `state`, with a scripted peer. */
function inState(state: string): { h: Harness; c: TcpConnection } {
  const opts = linuxSynOptions(10, 0, 7);
  if (state === "SYN-SENT") {
    const h = new Harness(CONFIG);
    h.conn = h.engine.connect(0, LOCAL, LPORT, REMOTE, RPORT);
    h.recv();
    return { h, c: h.conn };
  }
  if (state === "SYN-RECEIVED") {
    const h = new Harness(CONFIG);
    h.listener = h.engine.listen(0, LPORT);
    h.send({ seq: PEER_ISS, flags: SYN, options: opts });
    h.recv();
    return { h, c: h.conn };
  }
  const { h, c } =
    state === "CLOSE-WAIT" || state === "LAST-ACK"
      ? serverEstablished(CONFIG, opts)
      : clientEstablished(CONFIG, opts);
  c.write(new Uint8Array(6000), h.now);
  h.recv();
  const tsOpt = [{ kind: 1 }, { kind: 1 }, { kind: 8, tsVal: 20, tsEcr: 0 }] as TcpOption[];
  switch (state) {
    case "ESTABLISHED":
      break;
    case "FIN-WAIT-1":
      c.shutdown(h.now);
      h.recv();
      break;
    case "FIN-WAIT-2":
    case "TIME-WAIT":
      c.shutdown(h.now);
      h.recv();
      h.send({ seq: PEER_ISS + 1, ack: c.sndMax, flags: ACK, options: tsOpt });
      if (state === "TIME-WAIT")
        h.send({ seq: PEER_ISS + 1, ack: c.sndMax, flags: ACK | FIN, options: tsOpt });
      h.recv();
      break;
    case "CLOSING":
      c.shutdown(h.now);
      h.recv();
      h.send({ seq: PEER_ISS + 1, ack: c.sndUna, flags: ACK | FIN, options: tsOpt });
      h.recv();
      break;
    case "CLOSE-WAIT":
    case "LAST-ACK":
      h.send({ seq: PEER_ISS + 1, ack: c.sndUna, flags: ACK | FIN, options: tsOpt });
      if (state === "LAST-ACK") c.close(h.now);
      h.recv();
      break;
  }
  expect(c.state).toBe(state);
  return { h, c };
}

const STATES = [
  "SYN-SENT",
  "SYN-RECEIVED",
  "ESTABLISHED",
  "FIN-WAIT-1",
  "FIN-WAIT-2",
  "CLOSE-WAIT",
  "CLOSING",
  "LAST-ACK",
  "TIME-WAIT",
];

function checkInvariants(c: TcpConnection): void {
  const rb = c.receiveBuffer;
  if (rb !== undefined) {
    expect(rb.readable).toBeLessThanOrEqual(rb.capacity);
    expect(rb.rangeCount).toBeLessThanOrEqual(CONFIG.maxOutOfOrderRanges);
    expect(rb.readable + rb.outOfOrderBytes).toBeLessThanOrEqual(rb.capacity);
  }
  const sb = c.sendBuffer;
  if (sb !== undefined) expect(sb.length).toBeLessThanOrEqual(sb.capacity);
  // The record of segments in flight: bounded, and its byte counts within what is outstanding.
  const sent = c.sent;
  expect(sent.count).toBeLessThanOrEqual(sent.maxRecords);
  const outstanding = (c.sndMax - c.sndUna) >>> 0;
  expect(sent.sackedBytes).toBeLessThanOrEqual(outstanding);
  expect(sent.lostBytes).toBeLessThanOrEqual(outstanding);
  expect(sent.sackedBytes).toBeGreaterThanOrEqual(0);
  expect(sent.lostBytes).toBeGreaterThanOrEqual(0);
  expect(sent.retransBytes).toBeGreaterThanOrEqual(0);
  expect(sent.waitingBytes).toBeGreaterThanOrEqual(0);
  if (sent.count > 0) {
    expect(sent.start(sent.at(0))).toBe(c.sndUna);
    expect(sent.end(sent.last)).toBe(c.sndMax);
  }
  const d = c.deadline();
  if (d !== undefined) expect(Number.isFinite(d)).toBe(true);
  expect(Number.isFinite(c.window.cwnd) && c.window.cwnd > 0).toBe(true);
}

const emitted: TcpView[] = [];
const buf = new Uint8Array(4096);
function sink(s: TcpSegmentOut): void {
  const end = writeTcpSegment(s, buf, 0);
  const v = decodeTcp(buf.slice(0, end), s.localAddress, s.remoteAddress);
  if (v instanceof DecodeError) throw new Error(`emitted a malformed segment: ${v}`);
  emitted.push(v);
}

/** A segment near the connection's numbers, or anywhere. */
const segmentArb = (c: TcpConnection) =>
  fc
    .record({
      seqOff: fc.oneof(fc.integer({ min: -70000, max: 70000 }), fc.integer({ min: 0, max: 0xffffffff })),
      ackOff: fc.oneof(fc.integer({ min: -70000, max: 70000 }), fc.integer({ min: 0, max: 0xffffffff })),
      flags: fc.integer({ min: 0, max: 255 }),
      window: fc.integer({ min: 0, max: 0xffff }),
      len: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 })),
      ts: fc.option(
        fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })),
      ),
      sack: fc.array(fc.tuple(fc.integer({ min: -20000, max: 20000 }), fc.integer({ min: 0, max: 20000 })), {
        maxLength: 3,
      }),
      extra: fc.option(
        fc.constantFrom<TcpOption>(
          { kind: 2, mss: 1 },
          { kind: 3, shift: 200 },
          { kind: 4 },
          { kind: 99, data: new Uint8Array(3) },
        ),
      ),
    })
    .map((r) => {
      const options: TcpOption[] = [];
      if (r.ts) options.push({ kind: 1 }, { kind: 1 }, { kind: 8, tsVal: r.ts[0], tsEcr: r.ts[1] });
      if (r.sack.length > 0 && !r.ts) {
        options.push({
          kind: 5,
          blocks: r.sack.flatMap(([l, n]) => [(c.sndUna + l) >>> 0, (c.sndUna + l + n) >>> 0]),
        });
      }
      if (r.extra && options.length < 4) options.push(r.extra);
      return encodeTcp(
        {
          sourcePort: RPORT,
          destinationPort: LPORT,
          seq: (c.rcvNxt + r.seqOff) >>> 0,
          ack: (c.sndUna + r.ackOff) >>> 0,
          flags: r.flags,
          window: r.window,
          options,
        },
        new Uint8Array(r.len).fill(0x5a),
      );
    });

describe("fuzz: arbitrary segments in every state", () => {
  for (const state of STATES) {
    it(`${state}: no throw, invariants hold, output well-formed`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1000 }), (seedTime) => {
          const { h, c } = inState(state);
          fc.assert(
            fc.property(fc.array(segmentArb(c), { minLength: 1, maxLength: 30 }), (segs) => {
              for (const bytes of segs) {
                const v = decodeTcp(bytes);
                if (v instanceof DecodeError) continue;
                h.now += seedTime / 100;
                c.input(v, h.now);
                c.dispatch(h.now, sink);
                if (c.readableLength > 0) c.read(new Uint8Array(1000), h.now);
                checkInvariants(c);
              }
              // Timers keep working afterwards.
              for (let i = 0; i < 5; i++) {
                const d = c.deadline();
                if (d === undefined) break;
                h.now = Math.max(h.now, d);
                c.dispatch(h.now, sink);
                checkInvariants(c);
              }
            }),
            { numRuns: 25 },
          );
          return true;
        }),
        { numRuns: 6 },
      );
      emitted.length = 0;
    });
  }
});

describe("fuzz: mutated real segments", () => {
  it("bit flips and truncations of valid traffic never throw", () => {
    const { h, c } = clientEstablished(CONFIG, linuxSynOptions(10, 0, 7));
    const valid = [
      h.view({
        seq: PEER_ISS + 1,
        ack: c.sndNxt,
        flags: ACK,
        payload: "hello",
        options: [{ kind: 1 }, { kind: 1 }, { kind: 8, tsVal: 50, tsEcr: 1 }],
      }),
      h.view({ seq: PEER_ISS + 1, ack: c.sndNxt, flags: ACK | FIN }),
      h.view({
        seq: PEER_ISS + 1,
        ack: c.sndNxt,
        flags: ACK,
        options: [{ kind: 5, blocks: [c.sndNxt, c.sndNxt + 10] }],
      }),
    ].map((v) => v.bytes.slice());
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: valid.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat({ max: 10 }),
        (i, muts, cut) => {
          const b = valid[i]!.slice(0, Math.max(0, valid[i]!.length - cut));
          for (const [at, v] of muts) if (b.length > 0) b[at % b.length] = v;
          const v = decodeTcp(b);
          if (v instanceof DecodeError) return true;
          h.now += 1;
          c.input(v, h.now);
          c.dispatch(h.now, sink);
          checkInvariants(c);
          return true;
        },
      ),
      { numRuns: 3000 },
    );
    emitted.length = 0;
  });
});

describe("fuzz: the listener under a SYN flood and junk", () => {
  it("100 000 SYNs from random sources: bounded SYN queue, cookies, bounded replies", () => {
    const h = new Harness({ synQueueSize: 64, backlog: 16 });
    const l = (h.listener = h.engine.listen(0, LPORT));
    const made: TcpConnection[] = [];
    let seed = 1;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    for (let i = 0; i < 100_000; i++) {
      const bytes = encodeTcp({
        sourcePort: next() & 0xffff,
        destinationPort: LPORT,
        seq: next(),
        ack: next(),
        flags: i % 10 === 0 ? next() & 0xff : SYN,
        window: 100,
        options: linuxSynOptions(next()),
      });
      const v = decodeTcp(bytes) as TcpView;
      const c = l.input(v, h.now, next(), LOCAL);
      if (c !== undefined) made.push(c);
      if (i % 100 === 0) l.dispatch(h.now, () => {});
      h.now += 0.01;
    }
    expect(l.synQueueLength).toBeLessThanOrEqual(64);
    expect(made.length).toBeLessThanOrEqual(64 + 16);
    expect(l.stats.cookiesSent).toBeGreaterThan(50_000);
    expect(l.stats.repliesDropped).toBeGreaterThan(0); // replies beyond 64 pending are not queued
    expect(l.acceptQueueLength).toBeLessThanOrEqual(16);
  });
});
