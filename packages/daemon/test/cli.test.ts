// The userstackd command line: --help, bad arguments (exit 2, one sentence), the socket's mode,
// a path already served (exit 1), and SIGINT/SIGTERM stopping cleanly (clients told, file removed).
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { connectDaemon } from "../src/index.js";
import { tempDir } from "./helpers.js";
import { killAll, packageDir, startDaemonProcess } from "./processes.js";

const run = promisify(execFile);
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await killAll();
  for (const c of cleanups.splice(0)) c();
});

/** Runs userstackd to completion; resolves with its exit code and output. */
async function userstackd(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
      cwd: packageDir,
      timeout: 30_000,
    });
    return { code: 0, ...r };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

function socketPath(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return join(t.dir, "d.sock");
}

describe("userstackd", () => {
  it("--help prints the usage and exits 0", async () => {
    const r = await userstackd(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^userstackd: a userstack TCP\/IP stack in a daemon/);
    expect(r.stdout).toContain("--driver KIND");
    expect(r.stdout).toContain("SIGINT and SIGTERM stop the daemon cleanly");
  });

  it.each([
    [["--bogus"], "userstackd: Unknown option '--bogus'."],
    [["--driver", "floppy"], 'userstackd: --driver is memory, tunnel, tun or tap, not "floppy".'],
    [
      ["--driver", "tunnel", "--tunnel-port", "99999"],
      'userstackd: --tunnel-port must be an integer from 0 to 65535, not "99999".',
    ],
    [
      ["--driver", "tunnel", "--route", "nowhere"],
      'userstackd: --route takes ADDRESS[:TCPPORT]=TUNNELPORT, such as 127.0.0.1:80=23302, not "nowhere".',
    ],
    [["--tunnel-port", "23301"], "userstackd: --tunnel-port applies to --driver tunnel, not memory."],
    [["--driver", "tun"], "userstackd: --driver tun needs --ipv4, the stack's address such as 10.0.0.2/24."],
    [["--tcp", "noDelay=maybe"], 'userstackd: --tcp noDelay must be true or false, not "maybe".'],
  ])("refuses %j with exit status 2 and one sentence", { concurrent: true }, async (args, message) => {
    const r = await userstackd(args);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toContain(message);
    expect(r.stderr).toContain("Run `userstackd --help` for the options.");
  });

  it("creates its socket with mode 0600 (or --mode), and stops cleanly on SIGTERM and SIGINT", async () => {
    for (const [signal, mode] of [
      ["SIGTERM", undefined],
      ["SIGINT", "0660"],
    ] as const) {
      const path = socketPath();
      const { child, output } = await startDaemonProcess([
        "--socket",
        path,
        ...(mode ? ["--mode", mode] : []),
      ]);
      expect(output[0]).toBe(
        `userstackd: serving the stack at 10.0.0.1 (memory loopback 10.0.0.1 (mtu 65535)) on ${path}`,
      );
      expect(statSync(path).mode & 0o777).toBe(mode ? 0o660 : 0o600);
      const client = await connectDaemon(path);
      const gone = new Promise<Error>((resolve) => client.once("disconnect", resolve));
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill(signal);
      expect(await exited).toBe(0);
      expect((await gone).message).toBe(`userstack: the daemon at ${path} shut down`);
      expect(existsSync(path)).toBe(false);
      expect(output).toContain(`userstackd: ${signal}; stopping`);
    }
  });

  it("exits 1 with one sentence when its socket path is served already", async () => {
    const path = socketPath();
    await startDaemonProcess(["--socket", path]);
    const r = await userstackd(["--socket", path]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `userstackd: ${path} is in use by another running daemon; stop that one, or pass --socket with another path.`,
    );
    expect(existsSync(path)).toBe(true); // the first daemon's socket is untouched
  });
});
