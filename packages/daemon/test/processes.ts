// Starting and driving the processes of the multi-process tests: userstackd through its command
// line, application processes (remote-client.ts), and a peer stack over a tunnel in this process.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { createTunnel, type Tunnel } from "@userstack/driver-tunnel";
import { createStack, type Stack } from "@userstack/sockets";
import { until } from "./helpers.js";

export const packageDir = fileURLToPath(new URL("..", import.meta.url));

const started: ChildProcess[] = [];

/** Kills (SIGKILL) every process these helpers started and that still runs; by PID, never by name. */
export async function killAll(): Promise<void> {
  const live = started.splice(0).filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of live) c.kill("SIGKILL");
  await Promise.all(live.map((c) => new Promise((resolve) => c.once("exit", resolve))));
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs `userstackd` (from the sources) with `args`; resolves once it serves. */
export async function startDaemonProcess(args: string[]): Promise<{ child: ChildProcess; output: string[] }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
    cwd: packageDir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  const output: string[] = [];
  child.stdout!.on("data", (d: Buffer) => output.push(...d.toString().split("\n").filter(Boolean)));
  child.stderr!.on("data", (d: Buffer) => output.push(...d.toString().split("\n").filter(Boolean)));
  await until(
    () => output.some((l) => l.includes(" serving ")) || child.exitCode !== null,
    30_000,
    "userstackd to serve",
  );
  if (child.exitCode !== null) throw new Error(`userstackd exited: ${output.join("\n")}`);
  return { child, output };
}

/** An application process connected to the daemon at `path`. */
export class ClientProcess {
  readonly events: Record<string, unknown>[] = [];
  pid = 0;
  private readonly replies = new Map<number, (r: Record<string, unknown>) => void>();
  private nextId = 1;
  private constructor(readonly child: ChildProcess) {}

  static async start(path: string): Promise<ClientProcess> {
    const child = spawn(process.execPath, ["--import", "tsx", "test/remote-client.ts", path], {
      cwd: packageDir,
      stdio: ["pipe", "pipe", "inherit"],
    });
    started.push(child);
    const c = new ClientProcess(child);
    let buffered = "";
    let ready: (() => void) | undefined;
    const isReady = new Promise<void>((resolve, reject) => {
      ready = resolve;
      child.once("exit", (code) => reject(new Error(`client exited with ${code} before it was ready`)));
    });
    child.stdout!.on("data", (d: Buffer) => {
      buffered += d.toString();
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const msg = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
        buffered = buffered.slice(nl + 1);
        if (msg.ready) {
          c.pid = msg.pid as number;
          ready?.();
        } else if (typeof msg.id === "number") c.replies.get(msg.id)?.(msg);
        else c.events.push(msg);
        nl = buffered.indexOf("\n");
      }
    });
    await isReady;
    return c;
  }

  /** Runs one command in the client; resolves with its reply. */
  call(op: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.replies.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  /** Resolves once an event matching `fields` was printed. */
  async event(fields: Record<string, unknown>, ms = 10_000): Promise<Record<string, unknown>> {
    const match = () => this.events.find((e) => Object.entries(fields).every(([k, v]) => e[k] === v));
    await until(() => match() !== undefined, ms, `event ${JSON.stringify(fields)}`);
    return match()!;
  }
}

/** What the peer stack's sink (port 9) saw on each connection. */
export interface SinkRecord {
  bytes: number;
  error?: string;
  ended: boolean;
}

/**
 * A peer host in this process: a stack on a tunnel (127.0.0.1, a free port) with an echo server on
 * port 7 and a sink on port 9 that answers with the SHA-256 of what it received.
 */
export async function startPeer(
  daemonTunnelPort: number,
): Promise<{ tunnel: Tunnel; stack: Stack; sink: SinkRecord[] }> {
  const tunnel = await createTunnel({
    address: "127.0.0.1",
    port: 0,
    peerPort: daemonTunnelPort,
    log: false,
  });
  const stack = createStack({ network: tunnel });
  stack
    .createServer((s) => {
      s.on("error", () => {});
      s.pipe(s);
    })
    .listen(7);
  const sink: SinkRecord[] = [];
  stack
    .createServer((s) => {
      const rec: SinkRecord = { bytes: 0, ended: false };
      sink.push(rec);
      const hash = createHash("sha256");
      s.on("data", (d: Buffer) => {
        rec.bytes += d.length;
        hash.update(d);
      });
      s.on("error", (e: Error & { code?: string }) => {
        rec.error = e.code;
      });
      s.on("end", () => {
        rec.ended = true;
        s.end(hash.digest("hex"));
      });
    })
    .listen(9);
  return { tunnel, stack, sink };
}
