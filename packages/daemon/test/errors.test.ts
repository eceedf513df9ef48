// The mistakes a newcomer makes, each answered by one sentence that says what to do: no daemon
// running, a stale socket file, a path in use, permission denied (a real second user), and a
// client that breaks the protocol.
import { execFile, spawn } from "node:child_process";
import { chmodSync, existsSync, statSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { asNobody, missing } from "@userstack/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { connectDaemon, DaemonError, MemoryLoopback, startDaemon } from "../src/index.js";
import { tempDir, until } from "./helpers.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const run = promisify(execFile);
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

describe("the client's errors", () => {
  it("no daemon running: ENOENT, and how to start one", async () => {
    const path = join(dir(), "none.sock");
    const err = await connectDaemon(path).catch((e: DaemonError) => e);
    expect(err).toBeInstanceOf(DaemonError);
    expect((err as DaemonError).code).toBe("ENOENT");
    expect((err as DaemonError).message).toBe(
      `userstack: no daemon is running at ${path} (ENOENT); start one with \`userstackd --socket ${path}\`, or pass the path your daemon serves.`,
    );
  });

  it("a socket file left by a daemon that was killed: ECONNREFUSED; a new daemon replaces the file", async () => {
    const path = join(dir(), "stale.sock");
    // A process that listens on the path and is killed without removing it.
    const child = spawn(process.execPath, [
      "-e",
      `require("net").createServer().listen(${JSON.stringify(path)}, () => console.log("up"))`,
    ]);
    await new Promise((resolve) => child.stdout.once("data", resolve));
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    expect(existsSync(path)).toBe(true);
    const err = (await connectDaemon(path).catch((e) => e)) as DaemonError;
    expect(err.code).toBe("ECONNREFUSED");
    expect(err.message).toContain("is left over from a daemon that stopped (ECONNREFUSED)");
    const log: string[] = [];
    const daemon = await startDaemon({
      socketPath: path,
      network: new MemoryLoopback(),
      log: (l) => log.push(l),
    });
    cleanups.push(() => daemon.close());
    expect(log[0]).toBe(`userstackd: removed ${path}, left by a daemon that stopped`);
    const stack = await connectDaemon(path);
    expect(stack.address).toBe("10.0.0.1");
    await stack.close();
  });

  // Needs root to run a client as another user (nobody).
  it.skipIf(missing({ root: true }))(
    "permission denied for another user (the socket is 0600): EACCES, and what to do",
    async () => {
      const d = dir();
      chmodSync(d, 0o755); // the directory is open; only the socket's own mode stands in the way
      const path = join(d, "private.sock");
      const daemon = await startDaemon({ socketPath: path, network: new MemoryLoopback() });
      cleanups.push(() => daemon.close());
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const nobody = asNobody(packageDir);
      const [cmd, ...args] = [
        ...nobody.prefix,
        process.execPath,
        "--import",
        "tsx",
        "test/connect-once.ts",
        path,
      ];
      const { stdout } = await run(cmd!, args, {
        env: { ...process.env, HOME: "/tmp" },
        timeout: 30_000,
      }).finally(() => nobody.done());
      const r = JSON.parse(stdout.trim().split("\n").at(-1)!);
      expect(r.ok).toBe(false);
      expect(r.code).toBe("EACCES");
      expect(r.message).toBe(
        `userstack: permission denied on ${path} (EACCES); the daemon's socket is private to the user who started it (mode 0600): run as that user, or start the daemon with --mode 0660 and a group you share.`,
      );
      // The same user gets in.
      const { stdout: mine } = await run(
        process.execPath,
        ["--import", "tsx", "test/connect-once.ts", path],
        {
          cwd: packageDir,
          timeout: 30_000,
        },
      );
      expect(JSON.parse(mine.trim())).toEqual({ ok: true, address: "10.0.0.1" });
    },
  );
});

describe("the daemon's errors", () => {
  it("a path a live daemon serves: EADDRINUSE, and the first daemon is untouched", async () => {
    const path = join(dir(), "busy.sock");
    const first = await startDaemon({ socketPath: path, network: new MemoryLoopback() });
    cleanups.push(() => first.close());
    const err = (await startDaemon({ socketPath: path, network: new MemoryLoopback() }).catch(
      (e) => e,
    )) as DaemonError;
    expect(err.code).toBe("EADDRINUSE");
    expect(err.message).toBe(
      `userstackd: ${path} is in use by another running daemon; stop that one, or pass --socket with another path.`,
    );
    const stack = await connectDaemon(path);
    await stack.close();
  });

  it("a directory that does not exist, a path that is no socket, a path too long", async () => {
    const d = dir();
    const absent = join(d, "no", "such.sock");
    await expect(startDaemon({ socketPath: absent, network: new MemoryLoopback() })).rejects.toMatchObject({
      code: "ENOENT",
      message: `userstackd: cannot create ${absent} (ENOENT): its directory does not exist; create it, or pass --socket with another path.`,
    });
    const file = join(d, "file.sock");
    await import("node:fs").then((fs) => fs.writeFileSync(file, "not a socket"));
    await expect(startDaemon({ socketPath: file, network: new MemoryLoopback() })).rejects.toMatchObject({
      message: `userstackd: ${file} exists and is not a socket; remove it yourself, or pass --socket with another path.`,
    });
    const long = join(d, "x".repeat(120));
    await expect(startDaemon({ socketPath: long, network: new MemoryLoopback() })).rejects.toMatchObject({
      code: "ENAMETOOLONG",
    });
  });

  it("a client that breaks the protocol is told why and dropped; other clients go on", async () => {
    const path = join(dir(), "strict.sock");
    const daemon = await startDaemon({ socketPath: path, network: new MemoryLoopback() });
    cleanups.push(() => daemon.close());
    const good = await connectDaemon(path);
    cleanups.push(() => good.close());
    // Garbage instead of Hello: a length, then bytes that are no message.
    const raw = connect({ path });
    const answer: Buffer[] = [];
    raw.on("data", (d: Buffer) => answer.push(d));
    const ended = new Promise((resolve) => raw.once("close", resolve));
    raw.write(Buffer.from([0, 0, 0, 3, 0x42, 0x42, 0x42]));
    await ended;
    const bytes = Buffer.concat(answer);
    expect(bytes[4]).toBe(0xff); // Goodbye
    expect(bytes[5]).toBe(2); // protocol violation
    expect(bytes.subarray(6).toString()).toBe("protocol violation: the first message must be Hello");
    // An announced length over the limit ends the session too, without reading the rest.
    const huge = connect({ path });
    const hugeEnded = new Promise((resolve) => huge.once("close", resolve));
    huge.on("data", () => {});
    huge.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    await hugeEnded;
    await until(() => daemon.stats().counters.protocolViolations === 2, 5000, "two violations counted");
    // The well-behaved client still works.
    const s = good.socket();
    await s.bind(0);
    await s.listen();
    expect(s.localAddress().port).toBeGreaterThan(0);
  });
});
