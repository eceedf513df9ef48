// Memory per connection. Rings take storage as data queues and give it back as it drains (as
// Linux charges and uncharges socket memory), so 10,000 idle established connections hold no ring
// storage at all, while one busy connection still gets its whole 256 KiB window. SYN-queue entries
// and TIME-WAIT connections hold none either.
import { DecodeError } from "@userstack/wire";
import { describe, expect, it } from "vitest";
import {
  decodeTcp,
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

    // Beside them, one more connection moves a bulk transfer with the whole 256 KiB window.
    const c = p.connect(9999);
    p.settle();
    const s = p.listener.accept()!;
    expect(s.remotePort).toBe(9999);
    const data = pattern(1 << 20, 3);
    let written = c.write(data, p.now);
    /** Runs the two connections' timers up to `t` (the others are idle). */
    const step = (t: number) => {
      p.now = t;
      p.touch(c);
      p.touch(s);
      p.settle();
    };
    for (let t = 1; t < 100 && s.readableLength < 256 * KIB; t++) step(1000 + t * 10);
    step(p.now + 500); // the last delayed ACK
    // The receiver, not reading, holds a full window: 256 KiB queued, backed by storage.
    expect(s.readableLength).toBe(256 * KIB);
    expect(s.status().receiveWindow).toBe(0);
    expect(s.status().bufferBytes).toBeGreaterThanOrEqual(256 * KIB);
    expect(s.status().bufferBytes).toBeLessThanOrEqual(256 * KIB + 16 * KIB);
    expect(c.status().inFlight).toBe(0); // all of it acknowledged: the window, not cwnd, limits
    expect(c.status().sendWindow).toBe(0);
    // The sender's ring takes the next 256 KiB, which wait for the window to open.
    written += c.write(data.subarray(written), p.now);
    expect(c.sendQueued).toBe(256 * KIB);
    expect(c.status().bufferBytes).toBe(256 * KIB);
    const got = new Fnv();
    const out = new Uint8Array(64 * KIB);
    let widest = 0;
    for (let t = 0; got.n < data.length && t < 10_000; t++) {
      for (let n = s.read(out, p.now); n > 0; n = s.read(out, p.now)) got.update(out, n);
      if (written < data.length) written += c.write(data.subarray(written), p.now);
      step(p.now + 1);
      widest = Math.max(widest, c.status().sendWindow);
    }
    expect(widest).toBe(256 * KIB); // the reader's window opened to the whole buffer again
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
});
