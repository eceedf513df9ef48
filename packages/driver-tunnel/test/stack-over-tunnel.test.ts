// The point of the tunnel: a whole userstack stack uses it as its network layer in place of
// IPv4-over-a-link. A smoke test of that composition; the full echo/HTTP/64 MB suite belongs with
// packages/sockets and the daemon.
import { createHash, randomBytes } from "node:crypto";
import { createStack } from "@userstack/sockets";
import { afterEach, describe, expect, it } from "vitest";
import { createTunnel, type TunnelMode } from "../src/index.js";

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function hosts(mode: TunnelMode) {
  const tb = await createTunnel({ port: 0, mode, log: false });
  const ta = await createTunnel({ port: 0, mode, peerPort: tb.port, log: false });
  tb.addRoute({ address: "127.0.0.1", port: ta.port });
  const a = createStack({ network: ta });
  const b = createStack({ network: tb });
  open.push(a, b);
  return { a, b, ta, tb };
}

for (const mode of ["userstack", "chitcp"] as const) {
  describe(`two stacks over tunnels on 127.0.0.1 (${mode} mode)`, () => {
    it("echo 2 MB byte-exact through net.Socket-like sockets", async () => {
      const { a, b, ta, tb } = await hosts(mode);
      b.createServer((s) => s.pipe(s)).listen(7);
      const data = randomBytes(2 * 1024 * 1024);
      const echoed = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const c = a.connect(7, "127.0.0.1", () => c.end(data));
        c.on("data", (d: Buffer) => chunks.push(d));
        c.on("end", () => resolve(Buffer.concat(chunks)));
        c.on("error", reject);
      });
      const hash = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
      expect(echoed.length).toBe(data.length);
      expect(hash(echoed)).toBe(hash(data));
      expect(ta.stats.dropped.badChecksum + tb.stats.dropped.badChecksum).toBe(0);
      // Largest segment seen: the mode's path MTU governs the MSS the stacks use.
      expect(ta.stats.bytesSent / ta.stats.segmentsSent).toBeLessThanOrEqual(mode === "chitcp" ? 556 : 65515);
      expect(ta.openConnections).toBe(1);
    });
  });
}
