import { type ChildProcess, execFile, execFileSync, type SpawnOptions, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Names of namespaces this process created and has not deleted yet, removed on exit. */
const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const sweep = () => {
    for (const name of live) {
      try {
        execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
      } catch {
        /* already gone */
      }
    }
  };
  process.once("exit", sweep);
}

/**
 * A network namespace a test created, with helpers to run commands inside it. Every device and
 * address of a real-interface test lives in one of these, and {@link withNetns} deletes it at the
 * end whatever happens — nothing is ever configured in the root namespace.
 */
export class Netns {
  constructor(readonly name: string) {}

  /** Runs `cmd args…` inside the namespace and returns its stdout; rejects on a non-zero exit. */
  async exec(
    cmd: string,
    args: readonly string[] = [],
    opts: { timeoutMs?: number; input?: string } = {},
  ): Promise<string> {
    const p = run("ip", ["netns", "exec", this.name, cmd, ...args], {
      timeout: opts.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024,
      encoding: "utf8",
    });
    if (opts.input !== undefined) {
      p.child.stdin?.end(opts.input);
    }
    const { stdout } = await p;
    return stdout;
  }

  /** Runs a shell command line inside the namespace (`sh -c`). */
  sh(line: string, opts: { timeoutMs?: number } = {}): Promise<string> {
    return this.exec("sh", ["-c", line], opts);
  }

  /** Starts a long-running process inside the namespace; the caller ends it (by its PID). */
  spawn(cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): ChildProcess {
    return spawn("ip", ["netns", "exec", this.name, cmd, ...args], { stdio: "pipe", ...opts });
  }

  /** Deletes the namespace (and with it every device inside). Idempotent. */
  async delete(): Promise<void> {
    live.delete(this.name);
    await run("ip", ["netns", "del", this.name]).catch(() => undefined);
  }
}

/** Creates a namespace named `<prefix>-<random>` with `lo` up. Prefer {@link withNetns}. */
export async function createNetns(prefix = "us"): Promise<Netns> {
  const name = `${prefix}-${process.pid}-${randomBytes(3).toString("hex")}`;
  installExitHook();
  await run("ip", ["netns", "add", name]);
  live.add(name);
  const ns = new Netns(name);
  await ns.exec("ip", ["link", "set", "lo", "up"]);
  return ns;
}

/**
 * Runs `body` with a fresh namespace and deletes the namespace afterwards, even when `body`
 * throws or times out.
 */
export async function withNetns<T>(prefix: string, body: (ns: Netns) => Promise<T>): Promise<T> {
  const ns = await createNetns(prefix);
  try {
    return await body(ns);
  } finally {
    await ns.delete();
  }
}
