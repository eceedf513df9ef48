import { memoryPair } from "@userstack/link";
import { afterEach, describe, expect, it } from "vitest";
import { createStack, type Stack } from "../src/index.js";
import { pattern, sha } from "./harness.js";

let stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.map((s) => s.close()));
  stacks = [];
});

describe("many connections at once", () => {
  it("serves 100 concurrent echo connections, each byte-exact, and lists them in stats()", async () => {
    const [la, lb] = memoryPair({ medium: "ip", mtu: 1500, queueLimit: 8192 });
    const server = createStack({ link: la, ipv4: "10.0.0.1/24" });
    const client = createStack({ link: lb, ipv4: "10.0.0.2/24" });
    stacks.push(server, client);
    let open = 0;
    let peak = 0;
    server
      .createServer((s) => {
        open++;
        peak = Math.max(peak, server.stats().filter((c) => c.state === "ESTABLISHED").length);
        s.on("close", () => open--);
        s.pipe(s);
      })
      .listen(7);
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => {
        const payload = pattern(20_000 + i * 97, i + 1);
        return new Promise<{ sent: string; got: string; port: number }>((resolve, reject) => {
          const sock = client.connect(7, "10.0.0.1");
          const chunks: Buffer[] = [];
          sock.on("data", (d: Buffer) => chunks.push(d));
          sock.on("error", reject);
          sock.on("connect", () => sock.end(payload));
          sock.on("close", () =>
            resolve({ sent: sha(payload), got: sha(Buffer.concat(chunks)), port: sock.localPort! }),
          );
        });
      }),
    );
    for (const r of results) expect(r.got).toBe(r.sent);
    // Distinct ephemeral ports from Linux's range.
    const ports = new Set(results.map((r) => r.port));
    expect(ports.size).toBe(100);
    for (const p of ports) expect(p >= 32768 && p <= 60999).toBe(true);
    expect(peak).toBeGreaterThan(1);
    // The client's side of every connection went through TIME-WAIT (it closed first or together).
    const states = client.stats().map((c) => c.state);
    expect(states).toHaveLength(100);
    expect(states.every((s) => s === "TIME-WAIT")).toBe(true);
  });
});
