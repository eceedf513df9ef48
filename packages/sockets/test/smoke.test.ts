import { createHash, randomBytes } from "node:crypto";
import { memoryPair } from "@userstack/link";
import { afterEach, describe, expect, it } from "vitest";
import { createStack, type Stack } from "../src/index.js";

let stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.map((s) => s.close()));
  stacks = [];
});

function pair(): [Stack, Stack] {
  const [a, b] = memoryPair({ medium: "ip", mtu: 1500 });
  const s = createStack({ link: a, ipv4: "10.0.0.1/24" });
  const c = createStack({ link: b, ipv4: "10.0.0.2/24" });
  stacks.push(s, c);
  return [s, c];
}

describe("smoke", () => {
  it("echoes through the Node face", async () => {
    const [s, c] = pair();
    s.createServer((sock) => sock.pipe(sock)).listen(7);
    const sock = c.connect(7, "10.0.0.1");
    const chunks: Buffer[] = [];
    sock.on("data", (d: Buffer) => chunks.push(d));
    await new Promise((r) => sock.once("connect", r));
    sock.end("hello, userstack");
    await new Promise((r) => sock.once("close", r));
    expect(Buffer.concat(chunks).toString()).toBe("hello, userstack");
  });

  it("moves 8 MB byte-exact", async () => {
    const [s, c] = pair();
    const data = randomBytes(8 << 20);
    const got = createHash("sha256");
    let n = 0;
    const done = new Promise<void>((resolve) => {
      s.createServer((sock) => {
        sock.on("data", (d: Buffer) => {
          got.update(d);
          n += d.length;
        });
        sock.on("end", () => resolve());
      }).listen(9);
    });
    const t0 = performance.now();
    const sock = c.connect(9, "10.0.0.1");
    sock.end(data);
    await done;
    const ms = performance.now() - t0;
    console.log(`8 MB in ${ms.toFixed(0)} ms: ${((data.length * 8) / ms / 1e6).toFixed(2)} Gbit/s`);
    expect(n).toBe(data.length);
    expect(got.digest("hex")).toBe(createHash("sha256").update(data).digest("hex"));
  });
});
