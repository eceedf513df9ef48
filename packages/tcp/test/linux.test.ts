// Interoperation with the Linux kernel's TCP: the engine runs here, the kernel's sockets run in a
// network namespace behind a TUN device (test/tun-bridge.py relays raw IPv4 over stdio). Active
// and passive opens, a byte-exact echo of 1 MiB each way, option negotiation with a real peer, a
// refused connection, and recovery when both directions lose packets (nft drops on tun0
// ingress, this side drops what the kernel sends).
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { internetChecksum } from "@userstack/ipv4";
import { missing, type Netns, withNetns } from "@userstack/testkit";
import { DecodeError, put16, put32, u16, u32 } from "@userstack/wire";
import { describe, expect, it } from "vitest";
import {
  closedPortReply,
  decodeTcp,
  type TcpConfig,
  type TcpConnection,
  TcpEngine,
  TcpInput,
  type TcpListener,
  TcpSegmentOut,
  writeTcpSegment,
} from "../src/index.js";
import { Fnv, rng } from "./sim.js";

const KERNEL = 0x0a090001; // 10.9.0.1
const US = 0x0a090002; // 10.9.0.2
const BRIDGE = fileURLToPath(new URL("./tun-bridge.py", import.meta.url));

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

/** The glue between the bridge process and one TcpEngine (what packages/sockets will do). */
class KernelPeer {
  readonly engine: TcpEngine;
  readonly conns = new Map<string, TcpConnection>();
  listener: TcpListener | undefined;
  accepted: TcpConnection[] = [];
  readonly lines: string[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private readonly frame = new Uint8Array(1600);
  private readonly random: () => number;
  received = 0;
  dropped = 0;
  private readonly proc: ChildProcess;
  constructor(
    ns: Netns,
    args: string[],
    config: Partial<TcpConfig>,
    private readonly lossIn = 0,
  ) {
    this.engine = new TcpEngine({ msl: 100, ...config });
    this.random = rng(99);
    this.proc = ns.spawn("python3", [BRIDGE, ...args]);
    this.proc.stdout!.on("data", (d: Buffer) => this.onData(d));
    this.proc.stderr!.on("data", (d: Buffer) => this.lines.push(...d.toString().trim().split("\n")));
  }
  get now(): number {
    return performance.now();
  }
  async waitLine(re: RegExp, ms = 20_000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const l = this.lines.find((x) => re.test(x));
      if (l !== undefined) return l;
      if (Date.now() > end) throw new Error(`bridge never said ${re}; it said: ${this.lines.join(" / ")}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    while (this.buf.length >= 2) {
      const n = this.buf.readUInt16BE(0);
      if (this.buf.length < 2 + n) break;
      this.onPacket(new Uint8Array(this.buf.subarray(2, 2 + n)));
      this.buf = this.buf.subarray(2 + n);
    }
    this.pump();
  }
  private onPacket(ip: Uint8Array): void {
    if (ip.length < 20 || ip[0]! >> 4 !== 4 || ip[9] !== 6) return; // IPv4 TCP only
    const ihl = (ip[0]! & 15) * 4;
    const src = u32(ip, 12);
    const dst = u32(ip, 16);
    if (dst !== US) return;
    if (this.lossIn > 0 && this.random() < this.lossIn) {
      this.dropped++;
      return;
    }
    const seg = decodeTcp(ip.subarray(ihl, u16(ip, 2)), src, dst);
    if (seg instanceof DecodeError) throw new Error(`the kernel sent a segment we refuse: ${seg}`);
    this.received++;
    const now = this.now;
    const key = `${seg.destinationPort}:${src}:${seg.sourcePort}`;
    const c = this.conns.get(key);
    if (c !== undefined && c.input(seg, now) !== TcpInput.Reopen) return;
    if (this.listener !== undefined && seg.destinationPort === this.listener.localPort) {
      const child = this.listener.input(seg, now, src, dst);
      if (child !== undefined) {
        this.conns.set(key, child);
        this.accepted.push(child);
      }
      return;
    }
    const out = new TcpSegmentOut();
    if (closedPortReply(seg, src, dst, out)) this.send(out);
  }
  readonly send = (s: TcpSegmentOut): void => {
    const f = this.frame;
    const end = writeTcpSegment(s, f, 22);
    // A 2-byte length, then a 20-byte IPv4 header (RFC 791), then the segment.
    put16(f, 0, end - 2);
    f[2] = 0x45;
    f[3] = 0;
    put16(f, 4, end - 2);
    put16(f, 6, 0);
    put16(f, 8, 0x4000);
    f[10] = 64;
    f[11] = 6;
    put16(f, 12, 0);
    put32(f, 14, s.localAddress);
    put32(f, 18, s.remoteAddress);
    put16(f, 12, internetChecksum(f, 2, 22));
    this.proc.stdin!.write(Buffer.from(f.subarray(0, end)));
  };
  connect(port: number): TcpConnection {
    const c = this.engine.connect(this.now, US, 40000 + port, KERNEL, port);
    this.conns.set(`${40000 + port}:${KERNEL}:${port}`, c);
    return c;
  }
  /** Runs due timers and output on everything. */
  pump(): void {
    const now = this.now;
    this.listener?.dispatch(now, this.send);
    for (const c of this.conns.values()) {
      const d = c.deadline();
      if (d !== undefined && d <= now) c.dispatch(now, this.send);
    }
  }
  /** Pumps every millisecond (the test's timer loop) until `done()` or `ms` pass. */
  async until(done: () => boolean, step: () => void, ms = 30_000): Promise<boolean> {
    const end = Date.now() + ms;
    while (!done()) {
      if (Date.now() > end) return false;
      step();
      this.pump();
      await new Promise((r) => setTimeout(r, 1));
    }
    return true;
  }
  close(): void {
    this.proc.stdin!.end();
    if (this.proc.pid !== undefined && this.proc.exitCode === null) this.proc.kill();
  }
}

/** Writes `data`, shuts down, reads everything back; returns the hash of what came back. */
async function echoThrough(k: KernelPeer, c: TcpConnection, data: Uint8Array): Promise<Fnv> {
  let sent = 0;
  let shut = false;
  const got = new Fnv();
  const buf = new Uint8Array(65536);
  const ok = await k.until(
    () => c.state === "CLOSED",
    () => {
      const now = k.now;
      if (c.state === "ESTABLISHED" || c.state === "CLOSE-WAIT") {
        while (sent < data.length) {
          const n = c.write(data.subarray(sent), now);
          if (n <= 0) break;
          sent += n;
        }
        if (sent === data.length && !shut) {
          c.shutdown(now);
          shut = true;
        }
      }
      for (;;) {
        const n = c.read(buf, now);
        if (n > 0) got.update(buf, n);
        else break;
      }
      if (c.readEnded && c.state === "CLOSE-WAIT") c.close(now);
    },
  );
  expect(ok, `transfer did not finish: ${c.state} ${c.error} sent ${sent} got ${got.n}`).toBe(true);
  return got;
}

const skip = missing({ root: true, tools: ["ip", "python3", "nft"] });

describe.skipIf(skip)("against the Linux kernel's TCP (TUN in a network namespace)", () => {
  it("active open to a kernel echo server: options negotiated, 1 MiB echoed byte-exact, clean close", async () => {
    await withNetns("tcp", async (ns) => {
      const k = new KernelPeer(ns, ["echo-server", "7777"], {});
      try {
        await k.waitLine(/^ready/);
        const c = k.connect(7777);
        const data = pattern(1 << 20);
        const got = await echoThrough(k, c, data);
        const ref = new Fnv();
        ref.update(data);
        expect([got.n, got.h]).toEqual([ref.n, ref.h]);
        const st = c.status();
        expect(c.error).toBeUndefined();
        // Linux offers MSS 1460 (TUN MTU 1500), SACK, timestamps and window scaling.
        expect([st.mss, st.sack, st.timestamps, st.windowScaling]).toEqual([1448, true, true, true]);
        expect(await k.waitLine(/^server-done/)).toBe(`server-done ${1 << 20}`);
      } finally {
        k.close();
      }
    });
  });

  it("passive open: a kernel client connects to our listener and gets its 1 MiB echoed", async () => {
    await withNetns("tcp", async (ns) => {
      const k = new KernelPeer(ns, ["client", "80", String(1 << 20)], {});
      try {
        k.listener = k.engine.listen(0, 80);
        await k.waitLine(/^ready/);
        const buf = new Uint8Array(65536);
        let pending = new Uint8Array(0);
        const ok = await k.until(
          () =>
            k.lines.some((l) => l.startsWith("client-")) && (k.accepted[0]?.state ?? "CLOSED") === "CLOSED",
          () => {
            const s = k.listener!.accept() ?? k.accepted[0];
            if (s === undefined) return;
            const now = k.now;
            // Echo: read what fits, write it back, keep the rest until the send buffer drains.
            if (pending.length > 0) {
              const n = s.write(pending, now);
              if (n > 0) pending = pending.subarray(n);
            }
            while (pending.length === 0) {
              const n = s.read(buf, now);
              if (n <= 0) break;
              const w = s.write(buf.subarray(0, n), now);
              pending = buf.slice(Math.max(w, 0), n);
            }
            if (s.readEnded && pending.length === 0 && s.state === "CLOSE-WAIT") s.close(now);
          },
        );
        expect(ok, k.lines.join(" / ")).toBe(true);
        expect(await k.waitLine(/^client-/)).toBe(`client-done ${1 << 20} match`);
        expect(k.accepted[0]!.error).toBeUndefined();
      } finally {
        k.close();
      }
    });
  });

  it("a port nobody listens on: the kernel's RST refuses the connection", async () => {
    await withNetns("tcp", async (ns) => {
      const k = new KernelPeer(ns, ["echo-server", "7777"], {});
      try {
        await k.waitLine(/^ready/);
        const c = k.connect(7778);
        expect(
          await k.until(
            () => c.state === "CLOSED",
            () => {},
          ),
        ).toBe(true);
        expect(c.error).toBe("ECONNREFUSED");
      } finally {
        k.close();
      }
    });
  });

  it("5% loss each way: SACK recovery against the kernel, 512 KiB echoed byte-exact", async () => {
    await withNetns("tcp", async (ns) => {
      const k = new KernelPeer(ns, ["echo-server", "7777"], {}, 0.05);
      try {
        await k.waitLine(/^ready/);
        // Drop 5% of what we send, on tun0's ingress inside the namespace.
        await ns.sh(
          "nft add table netdev loss && nft add chain netdev loss in '{ type filter hook ingress device tun0 priority 0; }' && nft add rule netdev loss in numgen random mod 100 '<' 5 drop",
        );
        const c = k.connect(7777);
        const data = pattern(512 * 1024);
        const got = await echoThrough(k, c, data);
        const ref = new Fnv();
        ref.update(data);
        expect([got.n, got.h]).toEqual([ref.n, ref.h]);
        const st = c.status();
        expect(k.dropped).toBeGreaterThan(0);
        expect(st.retransmits).toBeGreaterThan(0);
        expect(st.sackedBytes).toBeGreaterThan(0);
        console.log(
          `loss run: dropped ${k.dropped} from the kernel, retransmitted ${st.retransmits} (${st.fastRecoveries} fast recoveries, ${st.timeouts} timeouts), SACKed ${st.sackedBytes} bytes`,
        );
      } finally {
        k.close();
      }
    });
  });
});
