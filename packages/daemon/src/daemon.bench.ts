// `pnpm bench` in packages/daemon: bulk throughput and node:http requests/s between two socket
// faces, the same code over six arrangements, so the cost of each layer shows:
//   - two stacks on a memory pair (IP, MTU 1500): the stack alone;
//   - one stack on the memory loopback (MTU 65535), both ends in this process: the baseline of
//     the daemon and worker rows, which use the same stack;
//   - two stacks over tunnels on 127.0.0.1, in this process, then in two processes;
//   - the loopback stack behind userstackd (its own process, UNIX socket), both ends clients here;
//   - the loopback stack in a worker thread (MessagePort), both ends in this thread.
// Figures are printed (the README records them); nothing is asserted.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTunnel } from "@userstack/driver-tunnel";
import { memoryPair } from "@userstack/link";
import { createStack, type SocketFaces } from "@userstack/sockets";
import { type BenchResult, machine, report } from "@userstack/testkit";
import { bulk, httpRate, serveBenchmark } from "../test/bench-servers.js";
import { connectDaemon, MemoryLoopback, startStackWorker } from "./index.js";

const BULK_BYTES = Number(process.env.USERSTACK_BENCH_MB ?? 256) * 2 ** 20;
const HTTP_SECONDS = 3;
const HTTP_CLIENTS = 10;
const packageDir = fileURLToPath(new URL("..", import.meta.url));

interface Arrangement {
  name: string;
  /** Sets up; returns the client face, the server's address, and how to tear down. */
  setup(): Promise<{ client: SocketFaces; host: string; close(): Promise<void> }>;
}

const arrangements: Arrangement[] = [
  {
    name: "memory pair, two stacks (IP, MTU 1500)",
    async setup() {
      const [la, lb] = memoryPair({ medium: "ip", mtu: 1500, queueLimit: 8192 });
      const server = createStack({ link: la, ipv4: "10.0.0.1/24" });
      const client = createStack({ link: lb, ipv4: "10.0.0.2/24" });
      await serveBenchmark(server);
      return {
        client,
        host: "10.0.0.1",
        close: async () => void (await Promise.all([server.close(), client.close()])),
      };
    },
  },
  {
    name: "memory loopback, one stack (MTU 65535)",
    async setup() {
      const stack = createStack({ network: new MemoryLoopback() });
      await serveBenchmark(stack);
      return { client: stack, host: "10.0.0.1", close: () => stack.close() };
    },
  },
  {
    name: "tunnel on 127.0.0.1, two stacks, one process",
    async setup() {
      const tb = await createTunnel({ port: 0, log: false });
      const ta = await createTunnel({ port: 0, peerPort: tb.port, log: false });
      tb.addRoute({ address: "127.0.0.1", port: ta.port });
      const server = createStack({ network: tb });
      const client = createStack({ network: ta });
      await serveBenchmark(server);
      return {
        client,
        host: "127.0.0.1",
        close: async () => void (await Promise.all([server.close(), client.close()])),
      };
    },
  },
  {
    name: "tunnel on 127.0.0.1, two stacks, two processes",
    async setup() {
      const ta = await createTunnel({ port: 0, log: false });
      const child = spawn(process.execPath, ["--import", "tsx", "test/bench-peer.ts", String(ta.port)], {
        cwd: packageDir,
        stdio: ["pipe", "pipe", "inherit"],
      });
      const port = await firstLine(child).then((l) => JSON.parse(l).port as number);
      ta.addRoute({ address: "127.0.0.1", port });
      const client = createStack({ network: ta });
      return {
        client,
        host: "127.0.0.1",
        async close() {
          child.stdin!.end();
          await client.close();
        },
      };
    },
  },
  {
    name: "userstackd (UNIX socket), loopback stack, both ends clients",
    async setup() {
      const dir = mkdtempSync(join(tmpdir(), "usd-bench-"));
      const path = join(dir, "d.sock");
      const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "--socket", path], {
        cwd: packageDir,
        stdio: ["ignore", "pipe", "inherit"],
      });
      await firstLine(child);
      const server = await connectDaemon(path);
      const client = await connectDaemon(path);
      await serveBenchmark(server);
      return {
        client,
        host: "10.0.0.1",
        async close() {
          await Promise.all([server.close(), client.close()]);
          child.kill("SIGTERM");
          await new Promise((resolve) => child.once("exit", resolve));
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "worker thread (MessagePort), loopback stack",
    async setup() {
      const stack = await startStackWorker();
      await serveBenchmark(stack);
      return { client: stack, host: "10.0.0.1", close: () => stack.close() };
    },
  },
];

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(out.split("\n")[0]!);
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code} before it was ready`)));
  });
}

const results: BenchResult[] = [];
for (const a of arrangements) {
  const { client, host, close } = await a.setup();
  await bulk(client, host, 16 * 2 ** 20); // warm-up: connections open, code optimised
  let gbps = 0;
  let took = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    gbps = Math.max(gbps, await bulk(client, host, BULK_BYTES));
    took = performance.now() - t0;
  }
  const rps = await httpRate(client, host, HTTP_SECONDS, HTTP_CLIENTS);
  await close();
  results.push({
    name: a.name,
    ops: BULK_BYTES,
    nsPerOp: (took * 1e6) / BULK_BYTES,
    extra: {
      "bulk Gbit/s (best of 3)": gbps.toFixed(2),
      [`node:http req/s (${HTTP_CLIENTS} keep-alive clients)`]: Math.round(rps).toLocaleString("en"),
    },
  });
  console.error(`done: ${a.name}`);
}
report(`@userstack/daemon: ${BULK_BYTES / 2 ** 20} MB bulk and node:http, on ${machine()}`, results);
process.exit(0);
