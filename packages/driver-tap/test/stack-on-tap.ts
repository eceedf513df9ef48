// A whole userstack stack on a TAP whose kernel side lives in a namespace the test creates, and the
// kernel-side tools the real-peer tests drive it with. Everything runs inside the namespace; every
// process is bounded in time and ended by its PID.
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FaultConfig, type Link, realClock, withFaults } from "@userstack/link";
import { type ConnectionInfo, createStack, type Stack, type StackOptions } from "@userstack/sockets";
import { type Netns, withNetns } from "@userstack/testkit";
import { openTap, type TapLink } from "../src/index.js";
import { bodyStream } from "./deterministic-body.js";
import { uniqueName } from "./kernel-side.js";

export const STACK_IP = "10.0.0.2";
export const KERNEL_IP = "10.0.0.1";
export const STACK_MAC = "02:00:00:00:00:02";

/** What a test gets inside {@link withStackOnTap}. */
export interface StackOnTap {
  ns: Netns;
  /** The TAP device's name (inside `ns`). */
  dev: string;
  tap: TapLink;
  /** The link the stack uses: the TAP, or the TAP wrapped by `withFaults`. */
  link: Link;
  stack: Stack;
}

/**
 * Creates a namespace with a TAP whose kernel side is 10.0.0.1/24, a stack at 10.0.0.2/24 on it
 * (optionally through `withFaults`), runs `body`, then closes the stack and deletes the namespace,
 * even when `body` fails.
 */
export async function withStackOnTap<T>(
  options: { faults?: FaultConfig & { seed: number }; tcp?: StackOptions["tcp"]; gso?: boolean },
  body: (env: StackOnTap) => Promise<T>,
): Promise<T> {
  return withNetns("us-stack", async (ns) => {
    const dev = uniqueName("us");
    const tap = await openTap(dev, { netns: ns.name, gso: options.gso });
    let stack: Stack | undefined;
    try {
      await ns.sh(`ip link set ${dev} up && ip addr add ${KERNEL_IP}/24 dev ${dev}`);
      const link = options.faults ? withFaults(tap, { ...options.faults, clock: realClock() }) : tap;
      stack = createStack({ link, ipv4: `${STACK_IP}/24`, mac: STACK_MAC, tcp: options.tcp });
      return await body({ ns, dev, tap, link, stack });
    } finally {
      await stack?.close();
      await tap.close();
    }
  });
}

/** A counter of the namespace's own TCP MIB (`/proc/net/snmp` read inside it), e.g. `InCsumErrors`. */
export async function tcpMib(ns: Pick<Netns, "exec">, name: string): Promise<number> {
  const lines = (await ns.exec("cat", ["/proc/net/snmp"])).split("\n").filter((l) => l.startsWith("Tcp:"));
  const [names, values] = lines.map((l) => l.split(/\s+/).slice(1));
  return Number(values![names!.indexOf(name)]);
}

/** Ends a process this test started, by its PID, and waits for it to be gone. */
export async function end(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = once(child, "exit");
  child.kill("SIGKILL");
  await gone;
}

/**
 * Runs `curl` inside the namespace and pipes what it downloads into `sha256sum` there: the body
 * never crosses into this process. Returns the digest, the response headers and curl's own figures.
 */
export async function curlDigest(
  ns: Netns,
  url: string,
  maxSeconds: number,
): Promise<{ sha256: string; headers: Record<string, string>; bytes: number; seconds: number }> {
  const dir = await mkdtemp(join(tmpdir(), "us-curl-"));
  try {
    const hdr = join(dir, "headers");
    const err = join(dir, "stderr");
    // curl's figures go to its stderr (%{stderr}), the body through the pipe to sha256sum.
    const script =
      'curl -sS --fail --max-time "$1" -D "$2" -w "%{stderr}figures %{size_download} %{time_total}" "$3" 2>"$4" ' +
      '| sha256sum || { cat "$4" >&2; exit 1; }; cat "$4"';
    const out = await ns.exec(
      "bash",
      ["-o", "pipefail", "-c", script, "curl-digest", String(maxSeconds), hdr, url, err],
      {
        timeoutMs: (maxSeconds + 10) * 1000,
      },
    );
    const sha256 = out.split(" ")[0]!;
    const figures = /figures (\d+) ([\d.]+)/.exec(out);
    const headers: Record<string, string> = {};
    for (const line of (await readFile(hdr, "utf8")).split("\r\n")) {
      const i = line.indexOf(":");
      if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    return { sha256, headers, bytes: Number(figures?.[1]), seconds: Number(figures?.[2]) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What the kernel-side sink reports about the one connection it served. */
export interface SinkReport {
  bytes: number;
  sha256: string;
  peer: string;
}

// A TCP sink on the kernel's own stack: accepts one connection, hashes everything until EOF, sends
// back "<bytes> <sha256>\n", closes, and prints the same line with the peer's address. Bounded by
// socket timeouts, and ended by PID by the caller in any case.
const SINK = `
import hashlib, socket, sys
host, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port))
s.listen(8)
s.settimeout(limit)
print("ready", flush=True)
c, a = s.accept()
c.settimeout(limit)
h = hashlib.sha256()
n = 0
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    h.update(b)
    n += len(b)
line = "%d %s" % (n, h.hexdigest())
c.sendall((line + "\\n").encode())
c.close()
print(line, a[0], flush=True)
`;

/**
 * Starts the kernel-side sink on `KERNEL_IP:port` inside the namespace; resolves once it listens.
 * `report` resolves with what it received; `child` is ended by the caller.
 */
export async function kernelSink(
  ns: Netns,
  port: number,
  limitSeconds: number,
): Promise<{ child: ChildProcess; report: Promise<SinkReport> }> {
  const child = ns.spawn("python3", ["-c", SINK, KERNEL_IP, String(port), String(limitSeconds)]);
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.startsWith("ready\n")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`the sink exited (${code}) before listening: ${err}`)));
  });
  const report = new Promise<SinkReport>((resolve, reject) => {
    child.once("exit", (code) => {
      const m = /^ready\n(\d+) ([0-9a-f]{64}) (\S+)\n/.exec(out);
      if (m) resolve({ bytes: Number(m[1]), sha256: m[2]!, peer: m[3]! });
      else reject(new Error(`the sink exited (${code}) without a report: ${out}${err}`));
    });
  });
  report.catch(() => {});
  await ready;
  return { child, report };
}

/**
 * Connects from the stack to `KERNEL_IP:port`, sends the deterministic body for `seed`, half-closes
 * and resolves with what the peer sends back before it closes.
 */
export function uploadFromStack(stack: Stack, port: number, seed: number, size: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = stack.connect(port, KERNEL_IP, () => bodyStream(seed, size).pipe(socket));
    const reply: Buffer[] = [];
    socket.on("data", (d: Buffer) => reply.push(d));
    socket.on("end", () => resolve(Buffer.concat(reply).toString()));
    socket.on("error", reject);
  });
}

/**
 * Makes the TAP lose `percent`% of the IPv4 frames in each direction, with nft netdev rules inside
 * the namespace (this kernel has no netem): `ingress` drops frames the stack sent before the kernel
 * sees them, `egress` drops frames the kernel sends before they reach the stack.
 */
export async function nftLoss(ns: Netns, dev: string, percent: number): Promise<void> {
  const rule = `ether type ip numgen random mod 100 < ${percent} counter drop`;
  await ns.exec("nft", ["-f", "-"], {
    input: `table netdev loss {
  chain toKernel { type filter hook ingress device "${dev}" priority 0; ${rule}; }
  chain toStack { type filter hook egress device "${dev}" priority 0; ${rule}; }
}
`,
  });
}

/** The frames the nft rules of {@link nftLoss} dropped so far, per direction. */
export async function nftDrops(ns: Netns): Promise<{ toKernel: number; toStack: number }> {
  const json = JSON.parse(await ns.exec("nft", ["-j", "list", "table", "netdev", "loss"])) as {
    nftables: { rule?: { chain: string; expr: { counter?: { packets: number } }[] } }[];
  };
  const drops = { toKernel: 0, toStack: 0 };
  for (const item of json.nftables) {
    const counter = item.rule?.expr.find((e) => e.counter)?.counter;
    if (item.rule && counter) drops[item.rule.chain as keyof typeof drops] = counter.packets;
  }
  return drops;
}

/**
 * Samples `stack.stats()` every 50 ms and keeps the last row seen for each connection, so a test
 * can print a connection's counters (retransmissions, timeouts…) after it left the table.
 */
export function watchConnections(stack: Stack): { stop(): ConnectionInfo[] } {
  const last = new Map<string, ConnectionInfo>();
  const sample = () => {
    for (const r of stack.stats()) last.set(`${r.localPort}/${r.remoteAddress}/${r.remotePort}`, r);
  };
  const timer = setInterval(sample, 50);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return [...last.values()];
    },
  };
}

/** One line of a connection's loss-recovery counters, like `ss -ti` prints them. */
export function recoveryLine(r: ConnectionInfo): string {
  return (
    `${r.localPort}↔${r.remotePort}: ${r.segmentsOut} segments out, ${r.retransmits} retransmitted, ` +
    `${r.timeouts} timeouts, ${r.fastRecoveries} fast recoveries, ${r.dupAcks} dup ACKs, ` +
    `${r.outOfOrder} out of order in, srtt ${r.srtt.toFixed(2)} ms, rto ${r.rto} ms, cwnd ${r.cwnd}`
  );
}
