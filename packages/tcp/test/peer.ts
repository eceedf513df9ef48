// Segment-by-segment scenario harness (smoltcp's tcp.rs tests): one engine under test, the peer
// scripted by hand. `send` feeds a segment in, `recv` dispatches and returns what came out
// (decoded copies), `recvNothing` asserts silence, `advance` moves virtual time.
import { DecodeError } from "@userstack/wire";
import { expect } from "vitest";
import {
  decodeTcp,
  encodeTcp,
  type TcpConfig,
  type TcpConnection,
  TcpEngine,
  TcpFlag,
  type TcpListener,
  type TcpOption,
  type TcpView,
  writeTcpSegment,
} from "../src/index.js";

export const LOCAL = 0x0a000001;
export const REMOTE = 0x0a000002;
export const LPORT = 49152;
export const RPORT = 80;
/** The scripted peer's ISN. */
export const PEER_ISS = 1_000_000;

export const { FIN, SYN, RST, PSH, ACK } = TcpFlag;

export interface Seg {
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  options?: TcpOption[];
  payload?: Uint8Array | string;
}

export function bytes(p: Uint8Array | string | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  return typeof p === "string" ? new TextEncoder().encode(p) : p;
}

export class Harness {
  now = 0;
  readonly engine: TcpEngine;
  conn!: TcpConnection;
  listener: TcpListener | undefined;
  constructor(config: Partial<TcpConfig> = {}) {
    this.engine = new TcpEngine({ msl: 1000, ...config }, new Uint8Array(48).fill(9));
  }
  /** Feeds a segment from the peer. */
  send(s: Seg): number {
    const seg = this.view(s);
    if (this.listener !== undefined && (this.conn === undefined || this.conn.state === "CLOSED")) {
      const c = this.listener.input(seg, this.now, REMOTE, LOCAL);
      if (c !== undefined) this.conn = c;
      return 0;
    }
    return this.conn.input(seg, this.now);
  }
  view(s: Seg): TcpView {
    const b = encodeTcp(
      {
        sourcePort: RPORT,
        destinationPort: LPORT,
        seq: s.seq >>> 0,
        ack: (s.ack ?? 0) >>> 0,
        flags: s.flags,
        window: s.window ?? 65535,
        options: s.options,
      },
      bytes(s.payload),
      undefined,
      0,
      REMOTE,
      LOCAL,
    );
    const v = decodeTcp(b, REMOTE, LOCAL);
    if (v instanceof DecodeError) throw new Error(String(v));
    return v;
  }
  /** Dispatches (listener then connection) and returns copies of what was sent. */
  recv(): TcpView[] {
    const out: TcpView[] = [];
    const sink = (s: Parameters<Parameters<TcpConnection["dispatch"]>[1]>[0]) => {
      const buf = new Uint8Array(2000);
      const end = writeTcpSegment(s, buf, 0);
      const v = decodeTcp(buf.subarray(0, end), s.localAddress, s.remoteAddress);
      if (v instanceof DecodeError) throw new Error(`engine emitted a bad segment: ${v}`);
      // IPv4 (20 bytes, DF set) would drop a datagram larger than the path MTU.
      if (20 + end > this.engine.config.mtu)
        throw new Error(`engine emitted ${20 + end} bytes over a ${this.engine.config.mtu}-byte MTU`);
      out.push(v);
    };
    this.listener?.dispatch(this.now, sink);
    this.conn?.dispatch(this.now, sink);
    return out;
  }
  recvOne(): TcpView {
    const r = this.recv();
    expect(r.length, `expected one segment, got ${r.map(describe).join(" | ")}`).toBe(1);
    return r[0]!;
  }
  recvNothing(): void {
    const r = this.recv();
    expect(r.map(describe)).toEqual([]);
  }
  /** Moves time forward to `ms` later (or to the next deadline with no argument) and dispatches. */
  advance(ms?: number): TcpView[] {
    // Output already due (after an input) goes out first, at the current time.
    const pending = (this.conn.deadline() ?? Number.POSITIVE_INFINITY) <= this.now ? this.recv() : [];
    if (ms === undefined) {
      const d = this.conn.deadline();
      if (d === undefined) throw new Error("no deadline");
      this.now = Math.max(this.now, d);
    } else this.now += ms;
    return [...pending, ...this.recv()];
  }
}

export function describe(v: TcpView): string {
  const f = v.flags;
  const names = [
    f & SYN ? "SYN" : "",
    f & FIN ? "FIN" : "",
    f & RST ? "RST" : "",
    f & PSH ? "PSH" : "",
    f & ACK ? "ACK" : "",
  ]
    .filter(Boolean)
    .join(",");
  return `${names} seq=${v.seq} ack=${v.ack} win=${v.window} len=${v.payloadLength}`;
}

/** Linux's SYN options: MSS 1460, SACK-permitted, timestamps, NOP, window scale 7. */
export function linuxSynOptions(tsVal = 100, tsEcr = 0, ws = 7): TcpOption[] {
  return [
    { kind: 2, mss: 1460 },
    { kind: 4 },
    { kind: 8, tsVal, tsEcr },
    { kind: 1 },
    { kind: 3, shift: ws },
  ];
}

/** An active open that completed against a peer offering `options` on its SYN-ACK. */
export function clientEstablished(
  config: Partial<TcpConfig> = {},
  options: TcpOption[] = [{ kind: 2, mss: 1460 }],
) {
  const h = new Harness(config);
  h.conn = h.engine.connect(h.now, LOCAL, LPORT, REMOTE, RPORT);
  const syn = h.recvOne();
  const iss = syn.seq;
  h.send({ seq: PEER_ISS, ack: iss + 1, flags: SYN | ACK, options, window: 65535 });
  const ack = h.recvOne();
  expect(h.conn.state).toBe("ESTABLISHED");
  expect(ack.ack).toBe(PEER_ISS + 1);
  return { h, iss, syn, c: h.conn };
}

/** A passive open that completed: the peer's SYN with `options`, our SYN-ACK, the peer's ACK. */
export function serverEstablished(
  config: Partial<TcpConfig> = {},
  options: TcpOption[] = [{ kind: 2, mss: 1460 }],
) {
  const h = new Harness(config);
  h.listener = h.engine.listen(0, LPORT);
  h.send({ seq: PEER_ISS, flags: SYN, options });
  const synAck = h.recvOne();
  const iss = synAck.seq;
  h.send({ seq: PEER_ISS + 1, ack: iss + 1, flags: ACK });
  expect(h.conn.state).toBe("ESTABLISHED");
  return { h, iss, synAck, c: h.conn };
}
