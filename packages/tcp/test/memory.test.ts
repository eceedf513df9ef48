// Memory per connection. Rings take storage as data queues and give it back as it drains (as
// Linux charges and uncharges socket memory), so 10,000 idle established connections hold no ring
// storage at all, while one busy connection still gets its whole window (the default 2 MiB).
// SYN-queue entries and TIME-WAIT connections hold none either; and however peers fill their
// windows out of order, all connections together hold at most `bufferLimit` of such data.
import { DecodeError } from "@userstack/wire";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_TCP_CONFIG,
  decodeTcp,
  encodeTcp,
  type TcpConnection,
  TcpEngine,
  type TcpListener,
  type TcpSegmentOut,
  TcpView,
  writeTcpSegment,
} from "../src/index.js";
import { Fnv, pattern } from "./sim.js";

const A = 0x0a000001;
const B = 0x0a000002;
const COUNT = 10_000;
const KIB = 1024;
const RCVBUF = DEFAULT_TCP_CONFIG.receiveBufferSize;
const SNDBUF = DEFAULT_TCP_CONFIG.sendBufferSize;

/** Two engines back to back: a client engine and a server engine with a listener on port 80. */
class Pair {
  readonly client = new TcpEngine({}, new Uint8Array(48).fill(1));
  readonly server = new TcpEngine({}, new Uint8Array(48).fill(2));
  readonly listener: TcpListener;
  /** localPort << 16 | remotePort → connection, one map per side. */
  readonly clients = new Map<number, TcpConnection>();
  readonly servers = new Map<number, TcpConnection>();
  now = 0;
  private readonly queue: { toServer: boolean; bytes: Uint8Array }[] = [];
  private readonly view = new TcpView(new Uint8Array(20), 20);
  private readonly frame = new Uint8Array(70000);
  private readonly dirty = new Set<TcpConnection>();

  constructor() {
    this.listener = this.server.listen(0, 80);
  }

  private readonly sink = (s: TcpSegmentOut): void => {
    const end = writeTcpSegment(s, this.frame, 0);
    this.queue.push({ toServer: s.remoteAddress === B, bytes: this.frame.slice(0, end) });
  };

  connect(port: number): TcpConnection {
    const c = this.client.connect(this.now, A, port, B, 80);
    this.clients.set((port << 16) | 80, c);
    this.dirty.add(c);
    return c;
  }

  /** Marks a connection whose user call may have produced output. */
  touch(c: TcpConnection): void {
    this.dirty.add(c);
  }

  /** Delivers segments and dispatches until nothing moves. */
  settle(): void {
    for (;;) {
      for (const c of this.dirty) {
        const d = c.deadline();
        if (d !== undefined && d <= this.now) c.dispatch(this.now, this.sink);
      }
      this.dirty.clear();
      if (this.listener.deadline() !== undefined) this.listener.dispatch(this.now, this.sink);
      if (this.queue.length === 0) return;
      const batch = this.queue.splice(0);
      for (const f of batch) {
        const src = f.toServer ? A : B;
        const dst = f.toServer ? B : A;
        const seg = decodeTcp(f.bytes, src, dst, this.view);
        if (seg instanceof DecodeError) throw new Error(String(seg));
        const key = (seg.destinationPort << 16) | seg.sourcePort;
        const table = f.toServer ? this.servers : this.clients;
        let c = table.get(key);
        if (c === undefined && f.toServer) {
          c = this.listener.input(seg, this.now, src, dst);
          if (c !== undefined) table.set(key, c);
        } else c?.input(seg, this.now);
        if (c !== undefined) this.dirty.add(c);
      }
    }
  }

  /** Moves the clock to `t` and runs every timer due by then. */
  advanceTo(t: number): void {
    this.now = t;
    for (const c of this.clients.values()) this.dirty.add(c);
    for (const c of this.servers.values()) this.dirty.add(c);
    this.settle();
  }
}

function ringBytes(conns: Iterable<TcpConnection>): number {
  let n = 0;
  for (const c of conns) n += c.status().bufferBytes;
  return n;
}

describe("memory per connection", () => {
  it(`${COUNT} idle established connections through a listener hold no ring storage`, () => {
    const p = new Pair();
    const request = pattern(200, 1);
    const response = pattern(300, 2);
    const buf = new Uint8Array(1000);
    let accepted = 0;
    for (let i = 0; i < COUNT; i++) {
      p.connect(10000 + i);
      // In batches the SYN queue (256) and the accept backlog (511) hold, accepted as they come.
      if (i % 200 === 199) {
        p.settle();
        for (let c = p.listener.accept(); c !== undefined; c = p.listener.accept()) accepted++;
        // Bounded as we go, so a regression fails here rather than exhausting memory.
        expect(p.client.bufferBytes + p.server.bufferBytes).toBeLessThanOrEqual((i + 1) * 2 * KIB);
      }
    }
    p.settle();
    expect(accepted).toBe(COUNT);
    expect(p.listener.stats.cookiesSent).toBe(0);
    expect(p.servers.size).toBe(COUNT);
    expect([...p.clients.values()].every((c) => c.state === "ESTABLISHED")).toBe(true);
    expect([...p.servers.values()].every((c) => c.state === "ESTABLISHED")).toBe(true);
    // Every connection carries a request and a response, read completely: then it is idle.
    for (const c of p.clients.values()) {
      expect(c.write(request, p.now)).toBe(200);
      p.touch(c);
    }
    p.settle();
    // While data waits to be read, storage is held: one chunk per receiving ring.
    expect(p.server.bufferBytes).toBe(COUNT * 16 * KIB);
    for (const s of p.servers.values()) {
      expect(s.read(buf, p.now)).toBe(200);
      expect(s.write(response, p.now)).toBe(300);
      p.touch(s);
    }
    p.settle();
    for (const c of p.clients.values()) expect(c.read(buf, p.now)).toBe(300);
    p.advanceTo(1000); // delayed ACKs go out; everything sent is acknowledged
    const held = ringBytes(p.clients.values()) + ringBytes(p.servers.values());
    console.log(
      `${COUNT} idle pairs: ring storage ${held} bytes; pooled for reuse ${p.client.pooledBytes + p.server.pooledBytes} bytes (engine-wide bound ${4 * KIB * KIB} each)`,
    );
    // The bound is proportional to the count (at most 1 KiB each); it is in fact nothing.
    expect(held).toBeLessThanOrEqual(2 * COUNT * KIB);
    expect(held).toBe(0);
    expect(p.client.bufferBytes + p.server.bufferBytes).toBe(0);
    expect(p.client.pooledBytes).toBeLessThanOrEqual(4 * KIB * KIB);

    // Beside them, one more connection moves a bulk transfer with the whole window.
    const c = p.connect(9999);
    p.settle();
    const s = p.listener.accept()!;
    expect(s.remotePort).toBe(9999);
    const data = pattern(RCVBUF + SNDBUF + (1 << 20), 3);
    let written = c.write(data, p.now);
    /** Runs the two connections' timers up to `t` (the others are idle). */
    const step = (t: number) => {
      p.now = t;
      p.touch(c);
      p.touch(s);
      p.settle();
    };
    // Full but for less than a segment: receiver SWS avoidance (RFC 1122 §4.2.3.3) does not offer
    // the rest, nor RFC 7323's truncation a part of the window's unit.
    const mss = s.rcvMss;
    for (let t = 1; t < 200 && s.readableLength <= RCVBUF - mss; t++) {
      written += c.write(data.subarray(written), p.now);
      step(1000 + t * 10);
    }
    step(p.now + 500); // the last delayed ACK
    // The receiver, not reading, holds a full window, backed by storage.
    expect(RCVBUF - s.readableLength).toBeLessThan(mss);
    expect(s.status().receiveWindow).toBeLessThan(mss);
    // What it may still accept is backed: queued bytes plus the window fit the buffer.
    expect(s.readableLength + ((s.rcvAdvEdge - s.rcvNxt) | 0)).toBeLessThanOrEqual(RCVBUF);
    expect(s.status().bufferBytes).toBeGreaterThanOrEqual(RCVBUF);
    expect(s.status().bufferBytes).toBeLessThanOrEqual(RCVBUF + 16 * KIB);
    expect(c.status().inFlight).toBe(0); // all of it acknowledged: the window, not cwnd, limits
    expect(c.status().sendWindow).toBeLessThan(mss);
    // The sender's ring fills with what waits for the window to open; nothing is in flight, so
    // the record of segments in flight is given back.
    written += c.write(data.subarray(written), p.now);
    expect(c.sendQueued).toBe(SNDBUF);
    expect(c.status().bufferBytes).toBeGreaterThanOrEqual(SNDBUF);
    expect(c.status().bufferBytes).toBeLessThanOrEqual(SNDBUF + 16 * KIB); // a chunk begun at the head
    const got = new Fnv();
    const out = new Uint8Array(64 * KIB);
    let widest = 0;
    for (let t = 0; got.n < data.length && t < 10_000; t++) {
      for (let n = s.read(out, p.now); n > 0; n = s.read(out, p.now)) got.update(out, n);
      if (written < data.length) written += c.write(data.subarray(written), p.now);
      step(p.now + 1);
      widest = Math.max(widest, c.status().sendWindow);
    }
    expect(widest).toBe(RCVBUF); // the reader's window opened to the whole buffer again
    const want = new Fnv();
    want.update(data);
    expect([got.n, got.h]).toEqual([want.n, want.h]);
    p.advanceTo(p.now + 1000);
    expect(p.client.bufferBytes + p.server.bufferBytes).toBe(0);

    // TIME-WAIT holds no buffers at all: the clients close first.
    for (const cc of p.clients.values()) {
      cc.close(p.now);
      p.touch(cc);
    }
    p.settle();
    for (const sc of p.servers.values()) {
      sc.close(p.now);
      p.touch(sc);
    }
    p.settle();
    const tw = [...p.clients.values()];
    expect(tw.every((x) => x.state === "TIME-WAIT")).toBe(true);
    expect(tw.every((x) => x.sendBuffer === undefined && x.receiveBuffer === undefined)).toBe(true);
    expect([...p.servers.values()].every((x) => x.state === "CLOSED")).toBe(true);
    expect(p.client.bufferBytes + p.server.bufferBytes).toBe(0);
  });

  it("SYN-queue entries hold no buffers", () => {
    const p = new Pair();
    const synQueue = p.listener.config.synQueueSize;
    // SYNs whose handshakes never complete: the clients' SYN-ACK replies are simply dropped.
    for (let i = 0; i < synQueue; i++) p.connect(20000 + i);
    const clients = [...p.clients.values()];
    p.clients.clear(); // nobody answers the SYN-ACKs
    p.settle();
    expect(p.listener.synQueueLength).toBe(synQueue);
    const half = [...p.servers.values()];
    expect(half.every((c) => c.state === "SYN-RECEIVED")).toBe(true);
    expect(half.every((c) => c.sendBuffer === undefined && c.receiveBuffer === undefined)).toBe(true);
    expect(clients.every((c) => c.bufferBytes === 0)).toBe(true);
    expect(p.server.bufferBytes).toBe(0);
  });

  it("peers filling every window out of order: together they hold at most bufferLimit of it", () => {
    const LIMIT = 256 * KIB;
    const server = new TcpEngine({ bufferLimit: LIMIT, bufferPoolSize: 0 }, new Uint8Array(48).fill(4));
    const listener = server.listen(0, 80);
    const out: TcpSegmentOut[] = [];
    const sink = (x: TcpSegmentOut) => out.push(x);
    const seg = (
      port: number,
      seq: number,
      ack: number,
      flags: number,
      payload: Uint8Array = new Uint8Array(0),
    ) => {
      const options =
        flags & 2
          ? [{ kind: 2 as const, mss: 1460 }, { kind: 1 as const }, { kind: 3 as const, shift: 7 }]
          : [];
      const b = encodeTcp(
        {
          sourcePort: port,
          destinationPort: 80,
          seq: seq >>> 0,
          ack: ack >>> 0,
          flags,
          window: 0xffff,
          options,
        },
        payload,
        undefined,
        0,
        A,
        B,
      );
      return decodeTcp(b, A, B) as TcpView;
    };
    const conns: TcpConnection[] = [];
    for (let i = 0; i < 4; i++) {
      const c = listener.input(seg(5000 + i, 1000, 0, 0x02), 0, A, B)!;
      out.length = 0;
      c.dispatch(0, sink);
      const iss = out[0]!.header.seq;
      c.input(seg(5000 + i, 1001, iss + 1, 0x10), 0);
      expect(c.state).toBe("ESTABLISHED");
      conns.push(c);
    }
    // Each peer sends 1 MiB that leaves the first 1000 bytes of its window missing.
    const chunk = pattern(1448, 9);
    for (const c of conns) {
      for (let k = 0; k < (1 << 20) / 1448; k++) {
        c.input(seg(c.remotePort, 1001 + 1000 + k * 1448, c.sndNxt, 0x10, chunk), 1);
        c.dispatch(1, sink);
      }
    }
    const held = server.bufferBytes;
    const refused = conns.reduce((n, c) => n + c.status().drops.memoryPressure, 0);
    console.log(
      `4 peers × 1 MiB out of order, bufferLimit ${LIMIT}: held ${held} bytes, ${refused} segments refused`,
    );
    // Stored while under the limit; the last store may take up to two 16 KiB chunks past it.
    expect(held).toBeGreaterThanOrEqual(LIMIT);
    expect(held).toBeLessThanOrEqual(LIMIT + 32 * KIB);
    expect(refused).toBeGreaterThan(2000);
    // In-order data is still taken over the limit: the missing bytes arrive, and what was kept
    // after them becomes readable; reading it gives the storage back.
    const first = conns[0]!;
    first.input(seg(first.remotePort, 1001, first.sndNxt, 0x10, pattern(1000, 10)), 2);
    expect(first.readableLength).toBeGreaterThan(1000);
    const buf = new Uint8Array(64 * KIB);
    while (first.read(buf, 2) > 0);
    expect(server.bufferBytes).toBeLessThan(held);
  });
});
