// A program under test in a child process: started by the test, bounded in time, ended by PID.
import { type ChildProcess, spawn } from "node:child_process";

/** A program running in a child process (`node <script> <args…>`), with everything it printed so far. */
export class Program {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(script: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
    this.child = spawn(process.execPath, [script, ...args], {
      stdio: "pipe",
      env: options.env ?? process.env,
    });
    this.child.stdout!.setEncoding("utf8").on("data", (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding("utf8").on("data", (d: string) => (this.stderr += d));
    if (options.input !== undefined) this.child.stdin!.end(options.input);
    this.exited = new Promise((resolve) =>
      this.child.once("exit", (code, signal) => resolve({ code, signal })),
    );
  }

  /** Resolves with the first match of `re` in stdout, or fails after `ms` (or when the program exits). */
  async waitFor(re: RegExp, ms = 15_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      const m = re.exec(this.stdout);
      if (m) return m;
      if (exited || Date.now() > deadline)
        throw new Error(
          `no ${re} from the program (${exited ? "it exited" : "timed out"}):\n${this.stdout}\n${this.stderr}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends `signal` to the process by its PID and waits for it to exit (SIGKILL after `ms`). */
  async stop(signal: NodeJS.Signals = "SIGINT", ms = 10_000) {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), ms);
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }
}

/** Runs `node <script> <args…>` to its end (SIGKILL after `ms`) and returns its exit code and output. */
export async function runProgram(
  script: string,
  args: string[],
  options: { ms?: number; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new Program(script, args, { env: options.env, input: options.input });
  const timer = setTimeout(() => p.child.kill("SIGKILL"), options.ms ?? 60_000);
  const { code } = await p.exited;
  clearTimeout(timer);
  return { code, stdout: p.stdout, stderr: p.stderr };
}
