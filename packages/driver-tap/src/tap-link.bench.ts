// Link-level throughput of a TAP with the Linux kernel as the peer, in a namespace the benchmark
// creates and deletes. Run as root: `pnpm --filter @userstack/driver-tap bench`. Prints figures for
// the README; asserts nothing. Every load is bounded in time and ended by PID.
//
//   read   frames/s delivered to receive() while the kernel floods UDP at the link
//   write  frames/s through send() into the kernel (raw frames, then UDP datagrams)
//   packet frames/s through an AF_PACKET socket on a veth pair: send() against sendMany()
//   echo   flood ping answered by a hand-built echo responder: one read + one write per request
//   rtt    ping round-trip time through the link and the responder, one request at a time
import type { ChildProcess } from "node:child_process";
import { parseMac } from "@userstack/ethernet";
import { internetChecksum, parseIpv4 } from "@userstack/ipv4";
import { type BenchResult, isRoot, machine, type Netns, report, withNetns } from "@userstack/testkit";
import { EchoResponder } from "../test/echo-responder.js";
import { kernelLink, sleep } from "../test/kernel-side.js";
import { openPacket, openTap } from "./index.js";

const STACK_MAC = parseMac("02:00:00:00:00:02")!;
const STACK_IP = parseIpv4("10.0.0.2")!;
const KERNEL_IP = parseIpv4("10.0.0.1")!;
const WINDOW_MS = 3000;

/** Runs `body` with a TAP in a fresh namespace, the kernel side at 10.0.0.1/24 and our MAC pre-resolved. */
async function withTap<T>(
  body: (ns: Netns, tap: Awaited<ReturnType<typeof openTap>>) => Promise<T>,
): Promise<T> {
  return withNetns("us-bench", async (ns) => {
    const tap = await openTap("tap0", { netns: ns.name, mac: STACK_MAC });
    try {
      await ns.sh("ip link set tap0 up && ip addr add 10.0.0.1/24 dev tap0");
      await ns.exec("ip", ["neigh", "add", "10.0.0.2", "lladdr", "02:00:00:00:00:02", "dev", "tap0"]);
      return await body(ns, tap);
    } finally {
      await tap.close();
    }
  });
}

function result(name: string, frames: number, ms: number, extra: Record<string, string> = {}): BenchResult {
  const perSecond = (frames / ms) * 1000;
  return {
    name,
    ops: frames,
    nsPerOp: 1e9 / perSecond,
    extra: { "frames/s": Math.round(perSecond).toLocaleString("en-US"), ...extra },
  };
}

/** A Python UDP sender in the namespace: as fast as one core allows, for `seconds`. */
function udpFlood(ns: Netns, seconds: number, size: number): ChildProcess {
  const code = [
    "import socket,time",
    "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)",
    `d=b'x'*${size}`,
    "a=('10.0.0.2',9)",
    `end=time.time()+${seconds}`,
    "while time.time()<end:",
    "  for _ in range(1000): s.sendto(d,a)",
  ].join("\n");
  return ns.spawn("python3", ["-c", code], { stdio: "ignore" });
}

/** Frames/s read while the kernel floods: sender and reader share the machine's two cores. */
async function read(size: number): Promise<BenchResult> {
  return withTap(async (ns, tap) => {
    let frames = 0;
    tap.attach({ receive: () => void frames++, flush() {} });
    const flood = udpFlood(ns, (WINDOW_MS + 1500) / 1000, size);
    await sleep(500);
    const k0 = await kernelLink(ns, "tap0");
    const f0 = frames;
    const b0 = tap.stats.rxBatches;
    const t0 = performance.now();
    await sleep(WINDOW_MS);
    const got = frames - f0;
    const batches = tap.stats.rxBatches - b0;
    const ms = performance.now() - t0;
    const k1 = await kernelLink(ns, "tap0");
    flood.kill("SIGKILL");
    const offered = k1.stats64.tx.packets - k0.stats64.tx.packets;
    const dropped = k1.stats64.tx.dropped - k0.stats64.tx.dropped;
    return result(`read ${size + 42}-byte frames during a kernel UDP flood`, got, ms, {
      "frames/batch": (got / batches).toFixed(1),
      "kernel queue overflow": `${((dropped / (offered + dropped)) * 100).toFixed(1)}%`,
    });
  });
}

/** Frames/s draining a backlog the kernel queued while nobody read: the read path alone. */
async function drain(size: number): Promise<BenchResult> {
  return withTap(async (ns, tap) => {
    await ns.exec("ip", ["link", "set", "tap0", "txqueuelen", "300000"]);
    const flood = udpFlood(ns, 1, size);
    await new Promise((resolve) => flood.once("exit", resolve));
    let frames = 0;
    let last = 0;
    const t0 = performance.now();
    tap.attach({
      receive: () => void frames++,
      flush: () => void (last = performance.now()),
    });
    // The kernel counts a queued frame only when it is read, so wait for the reads to stop.
    for (let seen = -1; seen !== frames; ) {
      seen = frames;
      await sleep(200);
    }
    return result(
      `drain ${size + 42}-byte frames queued by the kernel (no sender running)`,
      frames,
      last - t0,
      {
        "frames/batch": (frames / tap.stats.rxBatches).toFixed(1),
      },
    );
  });
}

/** An IPv4/UDP frame from us to the kernel side's discard port, `payload` bytes of data. */
function udpFrame(kernelMac: Uint8Array, payload: number): Uint8Array {
  const f = new Uint8Array(42 + payload);
  f.set(kernelMac, 0);
  f.set(STACK_MAC, 6);
  f.set([0x08, 0x00], 12);
  const ip = f.subarray(14, 34);
  ip.set([0x45, 0, (20 + 8 + payload) >> 8, (20 + 8 + payload) & 255, 0, 0, 0x40, 0, 64, 17]);
  new DataView(f.buffer).setUint32(26, STACK_IP);
  new DataView(f.buffer).setUint32(30, KERNEL_IP);
  const c = internetChecksum(ip);
  ip[10] = c >> 8;
  ip[11] = c & 255;
  new DataView(f.buffer).setUint16(34, 40000);
  new DataView(f.buffer).setUint16(36, 9);
  new DataView(f.buffer).setUint16(38, 8 + payload);
  return f; // UDP checksum 0: "not computed" (RFC 768)
}

async function write(kind: "raw" | "udp", size: number): Promise<BenchResult> {
  return withTap(async (ns, tap) => {
    let frame: Uint8Array;
    if (kind === "udp") {
      frame = udpFrame(tap.kernelMac, size - 42);
    } else {
      frame = new Uint8Array(size);
      frame.set(tap.kernelMac, 0);
      frame.set(STACK_MAC, 6);
      frame.set([0x88, 0xb5], 12); // IEEE local experimental: counted, then dropped by the kernel
    }
    // Warm up, then write for the window in slices that let the event loop breathe.
    const until = (ms: number) => {
      const end = performance.now() + ms;
      let n = 0;
      while (performance.now() < end) {
        for (let i = 0; i < 1000; i++) tap.send(frame);
        n += 1000;
      }
      return n;
    };
    until(300);
    const k0 = await kernelLink(ns, "tap0");
    const t0 = performance.now();
    const n = until(WINDOW_MS);
    const ms = performance.now() - t0;
    const k1 = await kernelLink(ns, "tap0");
    const accepted = k1.stats64.rx.packets - k0.stats64.rx.packets;
    return result(`write ${size}-byte ${kind === "raw" ? "raw frames" : "UDP datagrams"} (send)`, n, ms, {
      "kernel counted": `${accepted} of ${n}`,
    });
  });
}

async function echo(): Promise<BenchResult> {
  return withTap(async (ns, tap) => {
    const responder = new EchoResponder(tap, STACK_IP, STACK_MAC);
    tap.attach(responder);
    const t0 = performance.now();
    // ping exits 1 when its deadline (-w) leaves requests in flight; the summary is what counts.
    const out = await ns
      .exec("ping", ["-f", "-l", "64", "-c", "1000000", "-w", "5", "-q", "10.0.0.2"], { timeoutMs: 20_000 })
      .catch((e: { stdout?: string }) => e.stdout ?? "");
    const ms = performance.now() - t0;
    const received = Number(/(\d+) received/.exec(out)?.[1] ?? 0);
    const rtt = /= [\d.]+\/([\d.]+)\//.exec(out)?.[1] ?? "?";
    return result("echo: flood ping, 64 in flight (1 read + 1 write each)", received, ms, {
      "mean RTT": `${rtt} ms`,
    });
  });
}

async function rtt(): Promise<BenchResult> {
  return withTap(async (ns, tap) => {
    tap.attach(new EchoResponder(tap, STACK_IP, STACK_MAC));
    await ns.exec("ping", ["-c", "20", "-i", "0.01", "10.0.0.2"]); // warm-up
    const out = await ns.exec("ping", ["-c", "500", "-i", "0.002", "10.0.0.2"], { timeoutMs: 20_000 });
    const times = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]! * 1000;
    const p99 = times[Math.floor(times.length * 0.99)]! * 1000;
    return {
      name: "rtt: ping one at a time (500 requests, 2 ms apart)",
      ops: times.length,
      nsPerOp: median * 1000,
      extra: { "median RTT": `${median.toFixed(0)} µs`, "p99 RTT": `${p99.toFixed(0)} µs` },
    };
  });
}

/** Frames/s written to a veth pair through AF_PACKET, one send() per frame or sendMany() by 64. */
async function packetWrite(mode: "send" | "sendMany", size: number): Promise<BenchResult> {
  return withNetns("us-bench", (kernelNs) =>
    withNetns("us-bench", async (stackNs) => {
      await kernelNs.exec("ip", [
        "link",
        "add",
        "vk",
        "type",
        "veth",
        "peer",
        "name",
        "vs",
        "netns",
        stackNs.name,
      ]);
      await kernelNs.exec("ip", ["link", "set", "vk", "up"]);
      await stackNs.exec("ip", ["link", "set", "vs", "up"]);
      const link = await openPacket("vs", { netns: stackNs.name });
      try {
        const frame = new Uint8Array(size);
        frame.fill(0xff, 0, 6);
        frame.set(link.mac!, 6);
        frame.set([0x88, 0xb5], 12);
        const frames = Array.from({ length: 64 }, () => frame);
        const until = (ms: number) => {
          const end = performance.now() + ms;
          let n = 0;
          while (performance.now() < end) {
            if (mode === "sendMany") for (let i = 0; i < 16; i++) link.sendMany(frames);
            else for (let i = 0; i < 1024; i++) link.send(frame);
            n += 1024;
          }
          return n;
        };
        until(300);
        const k0 = await kernelLink(kernelNs, "vk");
        const t0 = performance.now();
        const n = until(WINDOW_MS);
        const ms = performance.now() - t0;
        const k1 = await kernelLink(kernelNs, "vk");
        return result(
          `AF_PACKET write ${size}-byte frames, ${mode === "send" ? "send()" : "sendMany() by 64"}`,
          n,
          ms,
          {
            "peer counted": `${k1.stats64.rx.packets - k0.stats64.rx.packets} of ${n}`,
          },
        );
      } finally {
        await link.close();
      }
    }),
  );
}

async function main(): Promise<void> {
  if (!isRoot) {
    console.log("[skipped] the TAP benchmark needs root (namespaces and TAP devices): run it with sudo.");
    return;
  }
  const results: BenchResult[] = [];
  results.push(await drain(64 - 42));
  results.push(await drain(1514 - 42));
  results.push(await read(64 - 42));
  results.push(await read(1514 - 42));
  results.push(await write("raw", 64));
  results.push(await write("raw", 1514));
  results.push(await write("udp", 64));
  results.push(await write("udp", 1514));
  results.push(await packetWrite("send", 64));
  results.push(await packetWrite("sendMany", 64));
  results.push(await echo());
  results.push(await rtt());
  report(`driver-tap link throughput, TAP with the kernel as the peer (${machine()})`, results);
}

await main();
