// `pnpm bench:tap`: a whole userstack stack on a TAP against the same node:http application served
// by the kernel's own TCP over a veth pair, measured with the same tools in the same run. Run as
// root; prints figures for the README and asserts nothing. Every device lives in namespaces the
// benchmark creates and deletes; every load is bounded in time and count and ended by PID.
//
//   namespace "client" — curl, wrk and ping run here
//     tap0  10.0.0.1/24  ⇄  a stack at 10.0.0.2 in this process (openTap + createStack)
//     tap1  10.0.2.1/24  ⇄  a stack at 10.0.2.2 in this process, its TAP opened with { gso: true }
//     veth  10.0.1.1/24  ⇄  10.0.1.2 in namespace "server": a Node process running the same app
//
// Measurements: (a) curl download of a 100 MiB body; (b) wrk keep-alive requests/s on `/hello`
// (-t1 -c10 -d5s); (c) ping RTT median (-c 200 -i 0.01). After a warm-up of each, every one is
// taken 3 times, the three targets alternately, so all see the same load from whatever else runs
// on the machine. `bench:tap curl|wrk|ping` runs one only (for profiling:
// `node --cpu-prof --import tsx src/stack-on-tap.bench.ts curl`).
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { createStack } from "@userstack/sockets";
import { isRoot, machine, type Netns, withNetns } from "@userstack/testkit";
import { createBodyApp } from "../test/body-app.js";
import { bodyDigest } from "../test/deterministic-body.js";
import { openTap } from "./index.js";

const STACK = "10.0.0.2";
const STACK_GSO = "10.0.2.2";
const KERNEL = "10.0.1.2";
const BULK = 100 * 2 ** 20;
const ROUNDS = 3;
const only = process.argv[2];
const packageDir = fileURLToPath(new URL("..", import.meta.url));

/** Where a measurement is taken: the stack on a plain TAP, the stack on a `gso` TAP, the kernel. */
interface Target {
  label: string;
  host: string;
}

const TARGETS: Target[] = [
  { label: "stack", host: STACK },
  { label: "stack gso", host: STACK_GSO },
  { label: "kernel", host: KERNEL },
];

interface Row {
  name: string;
  unit: string;
  /** One figure per target, in TARGETS order. */
  values: number[];
  target: string;
  detail: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!;

/** curl's download speed (bytes/s) of `url`, body discarded, bounded at 60 s. */
async function curlSpeed(ns: Netns, url: string): Promise<number> {
  const out = await ns.exec(
    "curl",
    ["-sS", "--fail", "--max-time", "60", "-o", "/dev/null", "-w", "%{size_download} %{speed_download}", url],
    { timeoutMs: 70_000 },
  );
  const [size, speed] = out.split(" ").map(Number);
  if (size !== BULK) throw new Error(`curl got ${size} bytes of ${BULK} from ${url}`);
  return speed!;
}

/** wrk's requests/s against `url`: one thread, 10 keep-alive connections, 5 s (or `seconds`). */
async function wrk(ns: Netns, url: string, seconds = 5): Promise<{ rps: number; detail: string }> {
  const out = await ns.exec("wrk", ["-t1", "-c10", `-d${seconds}s`, "--latency", url], { timeoutMs: 30_000 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out)?.[0] ?? "no errors";
  const p50 = /^\s+50%\s+(\S+)/m.exec(out)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1];
  return { rps, detail: `latency p50 ${p50}, p99 ${p99}, ${errors}` };
}

/** Ping round-trip times in µs: 200 requests 10 ms apart, each line's `time=`. */
async function ping(ns: Netns, host: string): Promise<number[]> {
  const out = await ns.exec("ping", ["-n", "-c", "200", "-i", "0.01", "-W", "1", host], {
    timeoutMs: 30_000,
  });
  return [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000);
}

/** Starts the app on the kernel's TCP in `ns` (a Node process); resolves once it listens. */
async function kernelApp(ns: Netns): Promise<ChildProcess> {
  const child = ns.spawn(
    process.execPath,
    ["--import", "tsx", "test/child/serve-body-app.ts", KERNEL, "80", String(BULK)],
    { cwd: packageDir, stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d) => String(d).includes("listening") && resolve());
    child.once("exit", (code) => reject(new Error(`the kernel-side app exited (${code})`)));
  });
  return child;
}

/** Frames the kernel dropped on their way to the stack (its TAP queue was full: we read too late). */
async function tapTxDropped(ns: Netns): Promise<number> {
  const [link] = JSON.parse(await ns.exec("ip", ["-j", "-s", "link", "show", "dev", "tap0"])) as {
    stats64: { tx: { dropped: number } };
  }[];
  return link!.stats64.tx.dropped;
}

async function end(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = once(child, "exit");
  child.kill("SIGKILL");
  await gone;
}

function print(rows: Row[]): void {
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  console.log(`\n${machine()}, load average ${load}\n`);
  console.log(
    "| measurement | userstack on TAP | userstack on TAP, `gso` | kernel over veth | ratios to the kernel | target | notes |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) {
    const fmt = (v: number) => `${v.toLocaleString("en-US", { maximumFractionDigits: 2 })} ${r.unit}`;
    const [plain, gso, kernel] = r.values as [number, number, number];
    const ratios = `${(plain / kernel).toFixed(2)}, gso ${(gso / kernel).toFixed(2)}`;
    console.log(
      `| ${r.name} | ${fmt(plain)} | ${fmt(gso)} | ${fmt(kernel)} | ${ratios} | ${r.target} | ${r.detail} |`,
    );
  }
}

/** Runs `measure` ROUNDS times on every target, the targets alternately; results per target. */
async function rounds<T>(measure: (t: Target) => Promise<T>): Promise<T[][]> {
  const out: T[][] = TARGETS.map(() => []);
  for (let i = 0; i < ROUNDS; i++) {
    for (let t = 0; t < TARGETS.length; t++) out[t]!.push(await measure(TARGETS[t]!));
  }
  return out;
}

async function main(): Promise<void> {
  if (!isRoot) {
    console.log("bench:tap needs root (network namespaces and a TAP device); run it with sudo.");
    return;
  }
  const rows: Row[] = [];
  await withNetns("us-bench", (client) =>
    withNetns("us-bench", async (server) => {
      await client.sh(
        `ip link add vb0 type veth peer name vb1 netns ${server.name} && ip addr add 10.0.1.1/24 dev vb0 && ip link set vb0 up`,
      );
      await server.sh("ip addr add 10.0.1.2/24 dev vb1 && ip link set vb1 up");
      const tap = await openTap("tap0", { netns: client.name });
      const tapGso = await openTap("tap1", { netns: client.name, gso: true });
      await client.sh("ip link set tap0 up && ip addr add 10.0.0.1/24 dev tap0");
      await client.sh("ip link set tap1 up && ip addr add 10.0.2.1/24 dev tap1");
      const app = createBodyApp();
      const stacks = [
        createStack({ link: tap, ipv4: `${STACK}/24`, mac: "02:00:00:00:00:02" }),
        createStack({ link: tapGso, ipv4: `${STACK_GSO}/24`, mac: "02:00:00:00:00:03" }),
      ];
      for (const stack of stacks) stack.createServer((socket) => app.emit("connection", socket)).listen(80);
      bodyDigest(1, BULK); // computed before measuring, as the kernel-side process does
      const kernel = await kernelApp(server);
      try {
        // Every path warm: ARP resolved, and the code of both processes compiled by V8 on the paths
        // measured (the first 100 MB through a cold process runs at about half speed).
        for (const t of TARGETS) {
          await ping(client, t.host);
          if (!only || only === "curl") await curlSpeed(client, `http://${t.host}/body?size=${BULK}&seed=1`);
          if (!only || only === "wrk") await wrk(client, `http://${t.host}/hello`, 2);
        }
        if (!only || only === "curl") {
          const runs = await rounds((t) => curlSpeed(client, `http://${t.host}/body?size=${BULK}&seed=1`));
          const gbit = (b: number) => (b * 8) / 1e9;
          rows.push({
            name: "curl 100 MiB download (median of 3)",
            unit: "Gbit/s",
            values: runs.map((r) => gbit(median(r))),
            target: "≥ 2.5 Gbit/s",
            detail: TARGETS.map(
              (t, i) => `${t.label} ${runs[i]!.map((x) => gbit(x).toFixed(2)).join(", ")}`,
            ).join("; "),
          });
        }
        if (!only || only === "wrk") {
          const dropped0 = await tapTxDropped(client);
          const runs = await rounds((t) => wrk(client, `http://${t.host}/hello`));
          const dropped = (await tapTxDropped(client)) - dropped0;
          const mid = (xs: { rps: number; detail: string }[]) =>
            xs.find((x) => x.rps === median(xs.map((y) => y.rps))) ?? xs[0]!;
          rows.push({
            name: "wrk -t1 -c10 -d5s, node:http `/hello` (median of 3)",
            unit: "req/s",
            values: runs.map((r) => mid(r).rps),
            target: "≥ 0.70 of the kernel's",
            detail: [
              ...TARGETS.map(
                (t, i) =>
                  `${t.label} ${runs[i]!.map((x) => Math.round(x.rps)).join(", ")} (median run: ${mid(runs[i]!).detail})`,
              ),
              `${dropped} frames to the plain stack dropped by the kernel's TAP queue`,
            ].join("; "),
          });
        }
        if (!only || only === "ping") {
          const runs = (await rounds((t) => ping(client, t.host))).map((r) => r.flat());
          rows.push({
            name: "ping RTT median (-c 200 -i 0.01, 3 rounds)",
            unit: "µs",
            values: runs.map(median),
            target: "≤ 75 µs",
            detail: TARGETS.map(
              (t, i) =>
                `${t.label} p10 ${quantile(runs[i]!, 0.1).toFixed(0)} µs, p90 ${quantile(runs[i]!, 0.9).toFixed(0)} µs, ${runs[i]!.length}/600 replies`,
            ).join("; "),
          });
        }
      } finally {
        await end(kernel);
        await Promise.all(stacks.map((s) => s.close()));
      }
    }),
  );
  print(rows);
}

await main();
