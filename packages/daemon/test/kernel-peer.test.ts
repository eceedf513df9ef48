// userstackd on a real Linux link, the kernel's own TCP as the peer: the daemon (its own process,
// started through its command line) opens a TUN or TAP device inside a network namespace this
// test creates and deletes; this process is the application, through the client library; the
// kernel's `nc` runs inside the namespace. Nothing is configured in the root namespace.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { missing, withNetns } from "@userstack/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { connectDaemon } from "../src/index.js";
import { collect, pattern, sha, tempDir } from "./helpers.js";
import { killAll, startDaemonProcess } from "./processes.js";

const skip = missing({ root: true, tools: ["ip", "nc", "sha256sum"] });
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await killAll();
});

const cases = [
  // Point to point: bare IP packets, no ARP.
  {
    driver: "tun",
    kernelSide: (dev: string) => `ip link set ${dev} up && ip addr add 10.0.4.1 peer 10.0.4.2 dev ${dev}`,
  },
  // Ethernet: the kernel finds the stack's MAC by ARP.
  {
    driver: "tap",
    kernelSide: (dev: string) => `ip link set ${dev} up && ip addr add 10.0.4.1/24 dev ${dev}`,
  },
] as const;

describe.skipIf(skip)("userstackd with the Linux kernel as the peer", () => {
  it.each(cases)(
    "--driver $driver: the kernel's nc reaches a server of a daemon client, and the client reaches nc",
    async ({ driver, kernelSide }) => {
      await withNetns("us-daemon", async (ns) => {
        const t = tempDir();
        cleanups.push(t.cleanup);
        const path = join(t.dir, "d.sock");
        const dev = `ud${randomBytes(3).toString("hex")}`;
        await startDaemonProcess([
          "--socket",
          path,
          "--driver",
          driver,
          "--netns",
          ns.name,
          "--device",
          dev,
          "--ipv4",
          "10.0.4.2/24",
        ]);
        await ns.sh(kernelSide(dev));
        const stack = await connectDaemon(path);
        cleanups.push(() => stack.close());
        expect(stack.address).toBe("10.0.4.2");

        // The kernel is the client: an echo server served by the daemon's stack.
        const server = stack.createServer((s) => s.pipe(s));
        await new Promise<void>((resolve) => server.listen(7, resolve));
        const file = join(t.dir, "in");
        const data = pattern(1 << 20, 5);
        await import("node:fs").then((fs) => fs.writeFileSync(file, data));
        const echoed = await ns.sh(`nc -N -w 10 10.0.4.2 7 < ${file} | sha256sum`, { timeoutMs: 60_000 });
        expect(echoed.split(" ")[0]).toBe(sha(data));

        // The kernel is the server: nc listens in the namespace, the daemon's client connects out.
        const listener = ns.spawn("sh", ["-c", "nc -l -N -w 10 10.0.4.1 9 | sha256sum"]);
        cleanups.push(() => {
          if (listener.exitCode === null) listener.kill("SIGKILL");
        });
        const out: Buffer[] = [];
        listener.stdout!.on("data", (d: Buffer) => out.push(d));
        const exited = new Promise((resolve) => listener.once("exit", resolve));
        const upload = pattern(2 << 20, 6);
        let c = stack.connect(9, "10.0.4.1");
        for (let attempt = 0; ; attempt++) {
          // nc may not listen yet when the first SYN arrives: retry a refused connection.
          const r = await new Promise<string>((resolve) => {
            c.once("connect", () => resolve("ok"));
            c.once("error", (e: Error & { code?: string }) => resolve(e.code ?? "error"));
          });
          if (r === "ok") break;
          expect(r).toBe("ECONNREFUSED");
          if (attempt > 50) throw new Error("nc never listened");
          await new Promise((resolve) => setTimeout(resolve, 100));
          c = stack.connect(9, "10.0.4.1");
        }
        c.end(upload);
        await collect(c);
        await exited;
        expect(Buffer.concat(out).toString().split(" ")[0]).toBe(sha(upload));

        // The daemon's view of it: the kernel's connections in its stack's table, no violations.
        const stats = await stack.stats();
        expect(stats.driver).toBe(`${driver} ${dev} in netns ${ns.name} 10.0.4.2/24`);
        expect(stats.stack.tcpMalformed).toBe(0);
      });
    },
  );
});
