// Benchmarks of whole stacks (issue 4): bulk transfer between two stacks over an in-memory pair,
// HTTP keep-alive requests/s with node:http on both ends, and resident memory with 10,000 idle
// established connections. Figures are printed; nothing is asserted. Run: pnpm bench.
import http from "node:http";
import { memoryPair } from "@userstack/link";
import { machine, sendRepeated } from "@userstack/testkit";
import { createStack, type Stack } from "./index.js";

const GB = 1e9;

async function bulk(mtu: number, medium: "ip" | "ethernet", bytes: number): Promise<number> {
  const [la, lb] = memoryPair({ medium, mtu, queueLimit: 8192 });
  const a = createStack({ link: la, ipv4: "10.0.0.1/24" });
  const b = createStack({ link: lb, ipv4: "10.0.0.2/24" });
  const chunk = Buffer.alloc(1 << 20, 7);
  let received = 0;
  const done = new Promise<void>((resolve) => {
    a.createServer((s) => {
      s.on("data", (d: Buffer) => {
        received += d.length;
      });
      s.on("end", () => resolve());
    }).listen(9);
  });
  const t0 = performance.now();
  sendRepeated(b.connect(9, "10.0.0.1"), chunk, bytes);
  await done;
  const seconds = (performance.now() - t0) / 1000;
  if (received !== bytes) throw new Error(`bulk: received ${received} of ${bytes}`);
  await Promise.all([a.close(), b.close()]);
  return (bytes * 8) / seconds / GB;
}

async function httpRequests(seconds: number, concurrency: number): Promise<number> {
  const [la, lb] = memoryPair({ medium: "ethernet", mtu: 1500, queueLimit: 8192 });
  const a = createStack({ link: la, ipv4: "10.0.0.1/24" });
  const b = createStack({ link: lb, ipv4: "10.0.0.2/24" });
  const app = http.createServer((_req, res) => res.end("hello from userstack\n"));
  a.createServer((s) => app.emit("connection", s)).listen(80);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  (agent as unknown as { createConnection: unknown }).createConnection = () => b.connect(80, "10.0.0.1");
  let count = 0;
  const stop = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < stop) {
      await new Promise<void>((resolve, reject) => {
        http
          .get({ host: "10.0.0.1", port: 80, path: "/", agent }, (res) => {
            res.resume();
            res.on("end", () => resolve());
          })
          .on("error", reject);
      });
      count++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const rate = count / ((performance.now() - t0) / 1000);
  agent.destroy();
  await Promise.all([a.close(), b.close()]);
  return rate;
}

async function idleConnections(n: number): Promise<{ mb: number; perConnectionKiB: number }> {
  const [la, lb] = memoryPair({ medium: "ip", mtu: 1500, queueLimit: 16384 });
  const a: Stack = createStack({ link: la, ipv4: "10.0.0.1/24", tcp: { backlog: 4096, synQueueSize: 4096 } });
  const b: Stack = createStack({ link: lb, ipv4: "10.0.0.2/24" });
  const accepted: unknown[] = [];
  a.createServer((s) => accepted.push(s)).listen(80, undefined, 4096);
  global.gc?.();
  const before = process.memoryUsage().rss;
  const clients: unknown[] = [];
  for (let i = 0; i < n; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, n - i) }, () => {
        return new Promise<void>((resolve, reject) => {
          const s = b.connect(80, "10.0.0.1", () => resolve());
          s.on("error", reject);
          clients.push(s);
        });
      }),
    );
  }
  while (accepted.length < n) await new Promise((r) => setTimeout(r, 10));
  global.gc?.();
  await new Promise((r) => setTimeout(r, 100));
  global.gc?.();
  const after = process.memoryUsage().rss;
  const established = a.stats().filter((c) => c.state === "ESTABLISHED").length;
  if (established !== n) throw new Error(`idle: ${established} of ${n} established`);
  await Promise.all([a.close(), b.close()]);
  const mb = (after - before) / 2 ** 20;
  return { mb, perConnectionKiB: ((after - before) / 1024 / n / 2) * 1 };
}

const best = async (runs: number, f: () => Promise<number>) => {
  let top = 0;
  for (let i = 0; i < runs; i++) top = Math.max(top, await f());
  return top;
};

console.log(`# @userstack/sockets benchmarks — ${machine()}\n`);
console.log("| benchmark | figure |");
console.log("| --- | --- |");
console.log(
  `| bulk, MTU 1500, IP link, 256 MB | ${(await best(3, () => bulk(1500, "ip", 256 << 20))).toFixed(2)} Gbit/s |`,
);
console.log(
  `| bulk, MTU 1500, Ethernet link, 256 MB | ${(await best(3, () => bulk(1500, "ethernet", 256 << 20))).toFixed(2)} Gbit/s |`,
);
console.log(
  `| bulk, MTU 65535 (loopback-like), 512 MB | ${(await best(3, () => bulk(65535, "ip", 512 << 20))).toFixed(2)} Gbit/s |`,
);
console.log(`| node:http keep-alive, 10 clients, 5 s | ${(await httpRequests(5, 10)).toFixed(0)} req/s |`);
const idle = await idleConnections(10_000);
console.log(
  `| 10,000 idle established connections (both ends in one process) | ${idle.mb.toFixed(0)} MB RSS growth, ${idle.perConnectionKiB.toFixed(1)} KiB per endpoint |`,
);
process.exit(0);
