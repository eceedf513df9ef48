// Clean shutdown: close() stops delivery at once, wakes the poll thread instead of waiting for its
// timeout, and leaves nothing that keeps the process alive.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { missing, withNetns } from "@userstack/testkit";
import { describe, expect, it } from "vitest";
import { type DriverError, openTap } from "../src/index.js";
import { reactor } from "../src/reactor.js";
import { eventually, uniqueName } from "./kernel-side.js";

const skip = missing({ root: true, tools: ["ip", "ping", "python3", "sysctl"] });
const packageDir = fileURLToPath(new URL("..", import.meta.url));

/** Runs the child script; resolves with its exit and output, killing it if it outlives `boundMs`. */
function runChild(args: string[], boundMs: number) {
  return new Promise<{
    code: number | null;
    signal: string | null;
    hung: boolean;
    stdout: string;
    stderr: string;
  }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/child/open-close-exit.ts", ...args], {
      cwd: packageDir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, boundMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, hung, stdout, stderr });
    });
  });
}

describe.skipIf(skip)("close", () => {
  it("a process that opens a TAP, reads a flood and closes it exits by itself", async () => {
    await withNetns("us-close", async (ns) => {
      const r = await runChild([ns.name, uniqueName("uc")], 30_000);
      expect(r.stderr).toBe("");
      expect(r.hung).toBe(false);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as { frames: number; afterClose: number; closeMs: number };
      expect(report.frames).toBeGreaterThanOrEqual(2000);
      expect(report.afterClose).toBe(0);
      console.log(`child: ${report.frames} frames read, close() took ${report.closeMs.toFixed(2)} ms`);
    });
  });

  it("wakes the waiting poll through the eventfd instead of its timeout", async () => {
    await withNetns("us-close", async (ns) => {
      const tap = await openTap(uniqueName("uc"), { netns: ns.name });
      tap.attach({ receive() {}, flush() {} });
      // An idle link: the poll thread is waiting (for up to its one-second safety timeout).
      expect(await eventually(() => reactor.state().polling)).toBe(true);
      const before = reactor.state();
      await tap.close();
      const after = reactor.state();
      expect(after.polls).toBe(before.polls + 1);
      expect(after.wakeups).toBe(before.wakeups + 1);
      expect(after.timeouts).toBe(before.timeouts);
      expect(after.watched).toBe(0);
      expect(after.polling).toBe(false);
    });
  });

  it("stops delivery the moment it is called, even from inside receive(), with no flush after", async () => {
    await withNetns("us-close", async (ns) => {
      const name = uniqueName("uc");
      const tap = await openTap(name, { netns: ns.name });
      let frames = 0;
      let flushes = 0;
      let closing: Promise<void> | undefined;
      tap.attach({
        receive() {
          frames++;
          closing ??= tap.close();
        },
        flush() {
          flushes++;
        },
      });
      // The first frame closes the link, which deletes the device: so it must be ping's, not the
      // IPv6 chatter (MLD, DAD) that bringing the device up starts, which can arrive before the
      // address and neighbour below are configured on a busy machine.
      await ns.exec("sysctl", ["-qw", `net.ipv6.conf.${name}.disable_ipv6=1`]);
      await ns.sh(`ip addr add 10.0.0.1/24 dev ${name} && ip link set ${name} up`);
      await ns.exec("ip", ["neigh", "add", "10.0.0.2", "lladdr", "02:00:00:00:00:02", "dev", name]);
      await ns.exec("ping", ["-c", "20", "-i", "0.002", "-W", "0.1", "10.0.0.2"]).catch(() => "");
      expect(closing).toBeDefined();
      await closing;
      expect(frames).toBe(1);
      expect(flushes).toBe(0);
      // close() is idempotent; a closed link drops what is sent and ignores attach().
      expect(tap.close()).toBe(closing);
      tap.send(new Uint8Array(60));
      expect(tap.stats.txDropped).toBe(1);
      tap.attach({ receive() {}, flush() {} });
      expect(reactor.state().watched).toBe(0);
      // The device went with the descriptor.
      await expect(ns.exec("ip", ["link", "show", name])).rejects.toThrow(/does not exist/);
    });
  });

  it("reports a deleted device once through onError and stops watching it", async () => {
    await withNetns("us-close", async (ns) => {
      const name = uniqueName("uc");
      const errors: DriverError[] = [];
      const tap = await openTap(name, { netns: ns.name, onError: (e) => errors.push(e) });
      tap.attach({ receive() {}, flush() {} });
      await ns.exec("ip", ["link", "set", name, "up"]);
      await ns.exec("ip", ["link", "del", name]);
      expect(await eventually(() => errors.length > 0)).toBe(true);
      expect(errors[0]!.code).toBe("EBADFD");
      expect(errors[0]!.message).toBe(
        `"${name}" can no longer be read (EBADFD): the interface was probably deleted; open it again.`,
      );
      expect(reactor.state().watched).toBe(0);
      await tap.close();
      expect(errors.length).toBe(1);
    });
  });

  it("says once, with the fix, when frames are sent while the kernel side is down", async () => {
    await withNetns("us-close", async (ns) => {
      const name = uniqueName("uc");
      const errors: DriverError[] = [];
      const tap = await openTap(name, { netns: ns.name, onError: (e) => errors.push(e) });
      try {
        const frame = new Uint8Array(60);
        frame.fill(0xff, 0, 6);
        tap.send(frame);
        tap.send(frame);
        expect(tap.stats.txDropped).toBe(2);
        expect(errors.map((e) => e.code)).toEqual(["ENETDOWN"]);
        expect(errors[0]!.message).toBe(
          `The kernel side of "${name}" is down, so frames sent to it are dropped: bring it up with \`ip -n ${ns.name} link set ${name} up\`.`,
        );
        await ns.exec("ip", ["link", "set", name, "up"]);
        tap.send(frame);
        expect(tap.stats.txFrames).toBe(1);
      } finally {
        await tap.close();
      }
    });
  });
});
