// echo-server on a real Linux link, with the kernel's own TCP as the client: `nc` run inside a
// network namespace the test creates (and deletes, even on failure). The server process opens
// the TAP or TUN device inside that namespace; nothing is configured in the root namespace.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missing, withNetns } from "@userstack/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, dist, Program } from "./programs.js";

const skip = missing({ root: true, tools: ["ip", "nc"] });
const SERVER = dist("echo-server");
beforeAll(() => {
  if (!skip) assertBuilt("echo-server");
});

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const cases = [
  {
    driver: "tap",
    // The kernel finds the stack's MAC by ARP, then talks TCP over Ethernet.
    kernelSide: (dev: string) => `ip link set ${dev} up && ip addr add 10.0.3.1/24 dev ${dev}`,
  },
  {
    driver: "tun",
    // Point to point: bare IP packets, no ARP.
    kernelSide: (dev: string) => `ip link set ${dev} up && ip addr add 10.0.3.1 peer 10.0.3.2 dev ${dev}`,
  },
] as const;

describe.skipIf(skip)("echo-server with the kernel's nc as client", () => {
  it.each(cases)(
    "--driver $driver: nc gets its line back, and 4 concurrent 1 MiB streams byte-exact",
    async ({ driver, kernelSide }) => {
      await withNetns("us-echo", async (ns) => {
        const dev = `ue${randomBytes(3).toString("hex")}`;
        const server = new Program(SERVER, [
          "--driver",
          driver,
          "--netns",
          ns.name,
          "--device",
          dev,
          "--address",
          "10.0.3.2/24",
          "7",
        ]);
        try {
          await server.waitFor(
            new RegExp(
              `listening on 10\\.0\\.3\\.2:7 \\(${driver} driver, device ${dev} in namespace ${ns.name}\\)`,
            ),
          );
          await ns.sh(kernelSide(dev));
          const line = await ns.exec("nc", ["-N", "-w", "10", "10.0.3.2", "7"], {
            input: "hello from the kernel\n",
            timeoutMs: 20_000,
          });
          expect(line).toBe("hello from the kernel\n");

          const dir = mkdtempSync(join(tmpdir(), "echo-nc-"));
          const files = [0, 1, 2, 3].map((i) => {
            const data = randomBytes(1 << 20);
            const file = join(dir, `in${i}`);
            writeFileSync(file, data);
            return { file, sha: sha(data) };
          });
          const sums = await Promise.all(
            files.map((f) =>
              ns
                .sh(`nc -N -w 10 10.0.3.2 7 < ${f.file} | sha256sum`, { timeoutMs: 60_000 })
                .then((o) => o.split(" ")[0]),
            ),
          );
          expect(sums).toEqual(files.map((f) => f.sha));
          await server.waitFor(/(Client 10\.0\.3\.1:\d+ done: 1048576 bytes echoed[\s\S]*){4}/);
          expect(server.stdout.match(/Handling client 10\.0\.3\.1:\d+/g)?.length).toBe(5);
        } finally {
          const { code } = await server.stop("SIGINT");
          expect(code, server.stderr).toBe(0);
        }
      });
    },
  );
});
