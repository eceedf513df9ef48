// A simulated network for engine tests: two or more hosts with a TcpEngine each, a path that
// can lose, duplicate, reorder, delay and corrupt segments (seeded, so runs replay), and a
// virtual clock that jumps to the next event. The glue here does what packages/sockets does:
// demultiplex by 4-tuple, then listener, then the closed-port reply.
import { DecodeError } from "@userstack/wire";
import {
  closedPortReply,
  decodeTcp,
  type TcpConfig,
  type TcpConnection,
  TcpEngine,
  TcpInput,
  type TcpListener,
  TcpSegmentOut,
  TcpView,
  tcpHeaderLength,
  writeTcpSegment,
} from "../src/index.js";

/** mulberry32: a small seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PathFaults {
  loss?: number;
  duplicate?: number;
  /** Probability a segment gets extra delay (reordering). */
  reorder?: number;
  corrupt?: number;
  /** One-way delay, ms. */
  delay?: number;
  /** Extra random delay up to this, ms, for reordered segments. */
  jitter?: number;
  /** Drops the n-th segments (1-based, counted over both directions) exactly. */
  dropNth?: number[];
  /** Drops a segment when this returns true (sees the decoded segment and the sender). */
  dropIf?: (seg: TcpView, from: number) => boolean;
  /**
   * Link rate, bytes per ms (125_000 is 1 Gbit/s): each direction serializes its datagrams (20
   * bytes of IPv4 header counted) one after another, so that a burst leaves spread over time as
   * from a real interface. Unlimited when absent.
   */
  rate?: number;
}

interface InFlight {
  at: number;
  order: number;
  to: Host;
  src: number;
  dst: number;
  bytes: Uint8Array;
}

export class Host {
  readonly engine: TcpEngine;
  readonly conns = new Map<string, TcpConnection>();
  readonly listeners = new Map<number, TcpListener>();
  /** Everything created by a listener, in order. */
  readonly accepted: TcpConnection[] = [];
  /** Called for each connection a listener creates, before its first dispatch. */
  onAccept: ((c: TcpConnection) => void) | undefined;
  constructor(
    readonly sim: Sim,
    readonly address: number,
    config: Partial<TcpConfig>,
  ) {
    const secret = new Uint8Array(48);
    for (let i = 0; i < 48; i++) secret[i] = (address * 31 + i * 7) & 0xff;
    this.engine = new TcpEngine(config, secret);
  }
  static key(lp: number, ra: number, rp: number): string {
    return `${lp}:${ra}:${rp}`;
  }
  connect(remote: Host, remotePort: number, localPort: number, config?: Partial<TcpConfig>): TcpConnection {
    const c = this.engine.connect(this.sim.now, this.address, localPort, remote.address, remotePort, config);
    this.conns.set(Host.key(localPort, remote.address, remotePort), c);
    return c;
  }
  listen(port: number, config?: Partial<TcpConfig>): TcpListener {
    const l = this.engine.listen(0, port, config);
    this.listeners.set(port, l);
    return l;
  }
  /** One view reused for every segment, as a fast glue would: the engine must keep nothing of it. */
  private readonly view = new TcpView(new Uint8Array(20), 20);
  receive(src: number, dst: number, bytes: Uint8Array): void {
    const seg = decodeTcp(bytes, src, dst, this.view);
    if (seg instanceof DecodeError) {
      this.sim.malformed++;
      return;
    }
    const key = Host.key(seg.destinationPort, src, seg.sourcePort);
    const c = this.conns.get(key);
    if (c !== undefined) {
      if (c.input(seg, this.sim.now) !== TcpInput.Reopen) return;
      this.conns.delete(key);
    }
    const l = this.listeners.get(seg.destinationPort);
    if (l !== undefined) {
      const child = l.input(seg, this.sim.now, src, dst);
      if (child !== undefined) {
        this.conns.set(key, child);
        this.accepted.push(child);
        this.onAccept?.(child);
      }
      return;
    }
    const out = new TcpSegmentOut();
    if (closedPortReply(seg, src, dst, out)) this.sim.transmit(this, out);
  }
}

export class Sim {
  now = 0;
  steps = 0;
  malformed = 0;
  sent = 0;
  droppedByRule = 0;
  /** Segments dropped because their IPv4 datagram exceeded the sender's MTU (DF is set, as Linux sets it). */
  oversize = 0;
  readonly hosts: Host[] = [];
  private queue: InFlight[] = [];
  private order = 0;
  /** When each sender's link is free again (with {@link PathFaults.rate}), by address. */
  private readonly linkFree = new Map<number, number>();
  private readonly random: () => number;
  /** Every segment put on the path, for assertions: [time, from, bytes]. */
  readonly trace: { at: number; from: number; bytes: Uint8Array }[] = [];
  traceEnabled = false;
  constructor(
    readonly faults: PathFaults = {},
    seed = 1,
  ) {
    this.random = rng(seed);
  }
  host(address: number, config: Partial<TcpConfig> = {}): Host {
    const h = new Host(this, address, config);
    this.hosts.push(h);
    return h;
  }
  private readonly scratch = new Uint8Array(70000);
  transmit(from: Host, seg: TcpSegmentOut): void {
    const len = tcpHeaderLength(seg.header) + seg.payloadLength;
    const end = writeTcpSegment(seg, this.scratch, 0);
    if (end !== len) throw new Error("length mismatch");
    const to = this.hosts.find((h) => h.address === seg.remoteAddress);
    this.sent++;
    if (20 + end > from.engine.config.mtu) {
      // What an IPv4 layer does with a datagram larger than the MTU and DF set: drop it.
      this.oversize++;
      return;
    }
    if (this.traceEnabled)
      this.trace.push({ at: this.now, from: from.address, bytes: this.scratch.slice(0, end) });
    if (to === undefined) return;
    const f = this.faults;
    if (f.dropNth?.includes(this.sent)) return;
    if (f.dropIf !== undefined) {
      const v = decodeTcp(this.scratch.subarray(0, end));
      if (!(v instanceof DecodeError) && f.dropIf(v, from.address)) {
        this.droppedByRule++;
        return;
      }
    }
    let departs = this.now;
    if (f.rate !== undefined) {
      // Serialization: the datagram leaves when the link has finished the previous one; a drop
      // further along the path still used the sender's link.
      departs = Math.max(this.now, this.linkFree.get(from.address) ?? 0) + (20 + end) / f.rate;
      this.linkFree.set(from.address, departs);
    }
    if (f.loss && this.random() < f.loss) return;
    const copies = f.duplicate && this.random() < f.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const bytes = this.scratch.slice(0, end);
      if (f.corrupt && this.random() < f.corrupt)
        bytes[Math.floor(this.random() * bytes.length)] ^= 1 << Math.floor(this.random() * 8);
      let at = departs + (f.delay ?? 0);
      if (f.reorder && this.random() < f.reorder) at += this.random() * (f.jitter ?? 5);
      this.queue.push({ at, order: this.order++, to, src: seg.localAddress, dst: seg.remoteAddress, bytes });
    }
  }
  /** Dispatches everything due on every host. */
  flush(): void {
    for (const h of this.hosts) {
      for (const l of h.listeners.values()) {
        const d = l.deadline();
        if (d !== undefined && d <= this.now) l.dispatch(this.now, (s) => this.transmit(h, s));
      }
      for (const [k, c] of h.conns) {
        const d = c.deadline();
        if (d !== undefined && d <= this.now) c.dispatch(this.now, (s) => this.transmit(h, s));
        if (c.state === "CLOSED" && c.deadline() === undefined) h.conns.delete(k);
      }
    }
  }
  /** Runs one step: delivers what is due, else jumps to the next event. Returns false when idle. */
  step(onStep?: () => void): boolean {
    this.steps++;
    this.flush();
    onStep?.();
    this.flush();
    let next = Number.POSITIVE_INFINITY;
    for (const p of this.queue) if (p.at < next) next = p.at;
    for (const h of this.hosts) {
      for (const l of h.listeners.values()) {
        const d = l.deadline();
        if (d !== undefined && d < next) next = d;
      }
      for (const c of h.conns.values()) {
        const d = c.deadline();
        if (d !== undefined && d < next) next = d;
      }
    }
    if (next === Number.POSITIVE_INFINITY) return false;
    if (next > this.now) this.now = next;
    // Deliver every segment due now, in send order.
    const due = this.queue.filter((p) => p.at <= this.now).sort((a, b) => a.at - b.at || a.order - b.order);
    if (due.length > 0) {
      this.queue = this.queue.filter((p) => p.at > this.now);
      for (const p of due) p.to.receive(p.src, p.dst, p.bytes);
    }
    return true;
  }
  /** Steps until `done()` or idle or a bound is hit; returns whether done() held. */
  run(done: () => boolean, opts: { maxSteps?: number; maxTime?: number; onStep?: () => void } = {}): boolean {
    const { maxSteps = 2_000_000, maxTime = 3_600_000 } = opts;
    while (!done()) {
      if (this.steps > maxSteps || this.now > maxTime) return false;
      if (!this.step(opts.onStep)) return done();
    }
    return true;
  }
}

/** Moves a connection that has not sent yet to initial sequence number `iss` (white-box, for wrap tests). */
export function forceIss(c: TcpConnection, iss: number): void {
  c.iss = iss >>> 0;
  c.sndUna = c.sndNxt = c.sndMax = c.recoveryPoint = c.iss;
  c.sndBufSeq = (c.iss + 1) >>> 0;
}

/** Deterministic test data. */
export function pattern(n: number, seed = 7): Uint8Array {
  const b = new Uint8Array(n);
  const r = rng(seed);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}

/** FNV-1a over bytes, incremental. */
export class Fnv {
  h = 0x811c9dc5;
  n = 0;
  update(b: Uint8Array, len = b.length): void {
    let h = this.h;
    for (let i = 0; i < len; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    this.h = h >>> 0;
    this.n += len;
  }
}

export function fnv(b: Uint8Array): number {
  const f = new Fnv();
  f.update(b);
  return f.h;
}

/**
 * A bulk transfer application: `writer` sends `data` then shuts down; `reader` reads everything,
 * then closes when it sees the end. Returns a step hook for Sim.run.
 */
export class Transfer {
  sentOffset = 0;
  readonly received = new Fnv();
  readerDone = false;
  writerShut = false;
  private readonly buf = new Uint8Array(65536);
  constructor(
    readonly sim: Sim,
    readonly data: Uint8Array,
    public writer: TcpConnection | undefined,
    public reader: TcpConnection | undefined,
    readonly closeReader = true,
  ) {}
  hook = (): void => {
    const now = this.sim.now;
    const w = this.writer;
    if (w !== undefined && (w.state === "ESTABLISHED" || w.state === "CLOSE-WAIT")) {
      while (this.sentOffset < this.data.length) {
        const n = w.write(this.data.subarray(this.sentOffset), now);
        if (n <= 0) break;
        this.sentOffset += n;
      }
      if (this.sentOffset === this.data.length && !this.writerShut) {
        w.shutdown(now);
        this.writerShut = true;
      }
    }
    const r = this.reader;
    if (r !== undefined && !this.readerDone) {
      for (;;) {
        const n = r.read(this.buf, now);
        if (n > 0) this.received.update(this.buf, n);
        else {
          if (n < 0 && r.readEnded) {
            this.readerDone = true;
            if (this.closeReader) r.close(now);
          }
          break;
        }
      }
    }
  };
}
