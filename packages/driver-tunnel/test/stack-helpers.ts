// Shared by the full-stack tunnel tests and their peer process: deterministic payloads, hashes, and
// a host (stack over a tunnel) in another process.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";

export const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Deterministic bytes (a seeded xorshift), the same in every process. */
export function pattern(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 255;
  }
  return b;
}

const packageDir = fileURLToPath(new URL("..", import.meta.url));

/** Starts test/stack-peer.ts; resolves with its tunnel port and the child (end its stdin to stop it). */
export function stackPeer(parentTunnelPort: number): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/stack-peer.ts", String(parentTunnelPort)], {
    cwd: packageDir,
    stdio: ["pipe", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve({ port: JSON.parse(out.split("\n")[0]!).port, child });
    });
    child.once("exit", (code) => reject(new Error(`the stack peer exited with ${code} before listening`)));
  });
}
