// Shared by the full-stack tunnel tests and their peer process: deterministic payloads, hashes, and
// a host (stack over a tunnel) in another process.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export { pattern, sha } from "@userstack/testkit";

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
