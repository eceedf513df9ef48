// Shared by the daemon tests: deterministic payloads, hashes, temporary socket directories (never
// outside the system's temp dir), waiting with a bound, and an in-process daemon on the memory driver.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { type Daemon, MemoryLoopback, type StackServiceOptions, startDaemon } from "../src/index.js";

export { pattern, sha } from "@userstack/testkit";

/** A fresh directory under the system's temp dir, removed by `cleanup()`. */
export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "usd-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Resolves when `check` holds, polling every few ms; rejects after `ms`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms = 10_000,
  what = "condition",
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A daemon in this process on the memory loopback (10.0.0.1), serving a socket in a temp dir. */
export async function memoryDaemon(
  extra: Partial<StackServiceOptions> = {},
): Promise<{ daemon: Daemon; cleanup(): Promise<void> }> {
  const t = tempDir();
  const daemon = await startDaemon({
    socketPath: join(t.dir, "d.sock"),
    network: new MemoryLoopback(),
    ...extra,
  });
  return {
    daemon,
    async cleanup() {
      await daemon.close();
      t.cleanup();
    },
  };
}

/** Everything a Node-face socket receives until it ends; rejects on error. */
export function collect(s: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("end", () => resolve(Buffer.concat(chunks)));
    s.on("error", reject);
  });
}
