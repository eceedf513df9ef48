// userstack-tap setup/teardown: the sandbox a user tries the stack in, checked end to end (the TAP
// it makes carries ARP and ping) and checked to leave the root namespace alone.
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseMac } from "@userstack/ethernet";
import { parseIpv4 } from "@userstack/ipv4";
import { asNobody, missing, Netns, withNetns } from "@userstack/testkit";
import { describe, expect, it } from "vitest";
import { openTap } from "../src/index.js";
import { EchoResponder } from "./echo-responder.js";
import { kernelLink, uniqueName } from "./kernel-side.js";

const run = promisify(execFile);
const skip = missing({ root: true, tools: ["ip", "ping"] });
const packageDir = fileURLToPath(new URL("..", import.meta.url));

/** Runs `userstack-tap <args>` from the sources; resolves with the exit code and output. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
      cwd: packageDir,
      timeout: 30_000,
      encoding: "utf8",
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const namespaceExists = (name: string) =>
  execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .some((l) => l.split(" ")[0] === name);

describe.skipIf(skip)("userstack-tap", () => {
  it("setup makes a persistent TAP owned by the user, with the kernel's address, that a stack can use", async () => {
    await withNetns("us-cli", async (ns) => {
      const tap = uniqueName("ct");
      const r = await cli([
        "setup",
        "--netns",
        ns.name,
        "--tap",
        tap,
        "--address",
        "10.0.5.1/24",
        "--user",
        "65534",
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`+ ip -n ${ns.name} tuntap add dev ${tap} mode tap user 65534`);
      expect(r.stdout).toContain(`openTap("${tap}", { netns: "${ns.name}" })`);
      const details = await ns.exec("ip", ["-d", "link", "show", tap]);
      expect(details).toMatch(/tun type tap .*persist on/);
      expect(details).toMatch(/user (65534|nobody)/);
      expect(await ns.exec("ip", ["-o", "addr", "show", tap])).toContain("inet 10.0.5.1/24");
      const kernel = await kernelLink(ns, tap);
      expect(kernel.flags).toContain("UP");
      expect(execFileSync("ip", ["-o", "link"], { encoding: "utf8" })).not.toContain(tap);

      // The sandbox works: a stack on the TAP answers the kernel's ARP and ping.
      const mac = parseMac("02:00:00:00:05:02")!;
      const link = await openTap(tap, { netns: ns.name, mac });
      try {
        link.attach(new EchoResponder(link, parseIpv4("10.0.5.2")!, mac));
        const out = await ns.exec("ping", ["-c", "2", "-i", "0.2", "-W", "2", "10.0.5.2"]);
        expect(out).toMatch(/2 packets transmitted, 2 received/);
      } finally {
        await link.close();
      }

      const again = await cli(["setup", "--netns", ns.name, "--tap", tap]);
      expect(again.code).toBe(1);
      expect(again.stderr.trim()).toBe(
        `"${tap}" already exists in network namespace "${ns.name}": use it as it is, or run \`sudo userstack-tap teardown --netns ${ns.name} --tap ${tap}\` first.`,
      );

      // teardown removes the device, then the namespace since only lo is left in it.
      const down = await cli(["teardown", "--netns", ns.name, "--tap", tap]);
      expect(down.code).toBe(0);
      expect(down.stdout).toContain(`Removed "${tap}" and network namespace "${ns.name}".`);
      expect(namespaceExists(ns.name)).toBe(false);
      const twice = await cli(["teardown", "--netns", ns.name, "--tap", tap]);
      expect(twice.code).toBe(0);
      expect(twice.stdout.trim()).toBe(`Network namespace "${ns.name}" does not exist: nothing to remove.`);
    });
  });

  it("setup creates the namespace when missing; teardown keeps a namespace that holds other devices", async () => {
    const name = `us-cli-${process.pid}-${randomBytes(3).toString("hex")}`;
    const ns = new Netns(name);
    try {
      const r = await cli(["setup", "--netns", name, "--tap", "tap0"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`+ ip netns add ${name}`);
      expect(await ns.exec("ip", ["-o", "addr", "show", "tap0"])).toContain("inet 10.0.0.1/24");
      await ns.exec("ip", ["link", "add", "keep0", "type", "veth", "peer", "name", "keep1"]);
      const down = await cli(["teardown", "--netns", name, "--tap", "tap0"]);
      expect(down.code).toBe(0);
      expect(down.stdout).toContain(
        `Removed "tap0"; network namespace "${name}" still holds keep0, keep1, so it stays (\`sudo ip netns del ${name}\` removes it).`,
      );
      expect(namespaceExists(name)).toBe(true);
      await expect(ns.exec("ip", ["link", "show", "tap0"])).rejects.toThrow(/does not exist/);
    } finally {
      await ns.delete();
    }
    expect(namespaceExists(name)).toBe(false);
  });

  it("refuses bad arguments with usage, and tells a non-root user to use sudo", async () => {
    const bad = await cli(["setup", "--address", "10.0.0.1"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe(
      '--address must be an IPv4 address with its prefix, like 10.0.0.1/24, not "10.0.0.1".',
    );
    const unknown = await cli(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown command "frobnicate".');
    const nobody = asNobody(packageDir);
    const [cmd, ...rest] = [...nobody.prefix, process.execPath, "--import", "tsx", "src/cli.ts", "setup"];
    const { stderr } = await run(cmd!, rest, { cwd: packageDir, encoding: "utf8" })
      .catch((e: { stderr: string }) => e)
      .finally(() => nobody.done());
    expect(stderr.trim()).toBe(
      "userstack-tap setup changes network namespaces and devices, which needs root: run it with sudo.",
    );
  });
});
