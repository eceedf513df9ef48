// The errors a newcomer hits, each one sentence with the fix and Node's error code. The ones that
// need fewer rights than the test runner has run in a child process: as user nobody with no
// capabilities (setpriv), or in a private mount namespace where /dev/net/tun is hidden (unshare).
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { asNobody, missing, type Netns, withNetns } from "@userstack/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { DriverError, openPacket, openTap, openTun } from "../src/index.js";
import { uniqueName } from "./kernel-side.js";

const run = promisify(execFile);
const skip = missing({ root: true, tools: ["ip", "setpriv", "unshare", "mount"] });
const packageDir = fileURLToPath(new URL("..", import.meta.url));
const CHILD = ["--import", "tsx", "test/child/open-and-report.ts"];
const nobody = asNobody(packageDir);
afterAll(() => nobody.done());
const NOBODY = nobody.prefix;

interface Report {
  ok?: boolean;
  type?: string;
  code?: string;
  message?: string;
}

/** Runs the child with `prefix` (a command wrapping node) and returns its report. */
async function child(prefix: string[], args: string[]): Promise<Report> {
  const [cmd, ...rest] = [...prefix, process.execPath, ...CHILD, ...args];
  const { stdout } = await run(cmd!, rest, { cwd: packageDir, timeout: 30_000, encoding: "utf8" });
  return JSON.parse(stdout) as Report;
}

/** The error `open` rejects with, checked to be a one-sentence DriverError. */
async function failure(open: Promise<unknown>): Promise<DriverError> {
  const e = await open.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DriverError);
  expectOneSentence((e as DriverError).message);
  return e as DriverError;
}

function expectOneSentence(message: string | undefined): void {
  expect(message).toBeDefined();
  expect(message).not.toContain("\n");
  expect(message).toMatch(/\.$/);
}

/** A veth pair with both ends in `ns`, `a` up, `b` down. */
async function veth(ns: Netns): Promise<{ a: string; b: string }> {
  const a = uniqueName("va");
  const b = uniqueName("vb");
  await ns.exec("ip", ["link", "add", a, "type", "veth", "peer", "name", b]);
  await ns.exec("ip", ["link", "set", a, "up"]);
  return { a, b };
}

describe.skipIf(skip)("errors a newcomer hits", () => {
  it("not root: creating a TAP says CAP_NET_ADMIN and how to get a device of one's own (EPERM)", async () => {
    await withNetns("us-err", async (ns) => {
      const name = uniqueName("ue");
      const r = await child(["ip", "netns", "exec", ns.name, ...NOBODY], ["tap", name]);
      expect(r).toMatchObject({ type: "DriverError", code: "EPERM" });
      expect(r.message).toBe(
        `Creating TAP device "${name}" needs CAP_NET_ADMIN: run as root (sudo), or create it once as a persistent device you own with \`sudo ip tuntap add dev ${name} mode tap user $USER\` (or \`sudo userstack-tap setup\`) and open it by that name.`,
      );
      expectOneSentence(r.message);
    });
  });

  it("not root, with the fix applied: a persistent TAP owned by the user opens without privileges", async () => {
    await withNetns("us-err", async (ns) => {
      const name = uniqueName("ue");
      await ns.exec("ip", ["tuntap", "add", "dev", name, "mode", "tap", "user", "65534"]);
      const r = await child(["ip", "netns", "exec", ns.name, ...NOBODY], ["tap", name]);
      expect(r).toEqual({ ok: true });
    });
  });

  it("not root: entering a namespace says CAP_SYS_ADMIN and the ip netns exec alternative (EPERM)", async () => {
    await withNetns("us-err", async (ns) => {
      const r = await child(NOBODY, ["tap", "tap0", ns.name]);
      expect(r).toMatchObject({ type: "DriverError", code: "EPERM" });
      expect(r.message).toBe(
        `Entering network namespace "${ns.name}" needs CAP_SYS_ADMIN: run as root (sudo), or start the program inside it with \`sudo ip netns exec ${ns.name} …\` and drop the netns option.`,
      );
    });
  });

  it("not root: a raw socket says CAP_NET_RAW (EPERM)", async () => {
    await withNetns("us-err", async (ns) => {
      const { a } = await veth(ns);
      const r = await child(["ip", "netns", "exec", ns.name, ...NOBODY], ["packet", a]);
      expect(r).toMatchObject({ type: "DriverError", code: "EPERM" });
      expect(r.message).toBe(
        `Opening a raw socket on "${a}" needs CAP_NET_RAW: run as root (sudo), or grant it to node with \`sudo setcap cap_net_raw+ep $(command -v node)\`.`,
      );
    });
  });

  it("no /dev/net/tun: says to load the module or pass the device into the container (ENOENT)", async () => {
    await withNetns("us-err", async (ns) => {
      // A private mount namespace with an empty /dev/net: the rest of the machine keeps its device.
      const r = await child(
        [
          "unshare",
          "--mount",
          "--propagation",
          "private",
          "sh",
          "-c",
          'mount -t tmpfs none /dev/net && exec "$0" "$@"',
        ],
        ["tun", "un0", ns.name],
      );
      expect(r).toMatchObject({ type: "DriverError", code: "ENOENT" });
      expect(r.message).toBe(
        "/dev/net/tun does not exist: load the tun module with `sudo modprobe tun` (in a container, pass the device with `--device /dev/net/tun`).",
      );
    });
  });

  it("device busy: a TAP already open elsewhere (EBUSY)", async () => {
    await withNetns("us-err", async (ns) => {
      const name = uniqueName("ue");
      const first = await openTap(name, { netns: ns.name });
      try {
        const e = await failure(openTap(name, { netns: ns.name }));
        expect(e.code).toBe("EBUSY");
        expect(e.message).toBe(
          `TAP device "${name}" in network namespace "${ns.name}" is already open (a device has one reader): close the link or stop the process that holds it, or choose another name.`,
        );
      } finally {
        await first.close();
      }
    });
  });

  it("a name taken by another kind of interface (EINVAL)", async () => {
    await withNetns("us-err", async (ns) => {
      let e = await failure(openTap("lo", { netns: ns.name }));
      expect(e.code).toBe("EINVAL");
      expect(e.message).toBe(
        `An interface named "lo" in network namespace "${ns.name}" exists and is not a TAP device: choose another name, or remove it with \`ip -n ${ns.name} link del lo\`.`,
      );
      const name = uniqueName("ue");
      await ns.exec("ip", ["tuntap", "add", "dev", name, "mode", "tap"]);
      e = await failure(openTun(name, { netns: ns.name }));
      expect(e.code).toBe("EINVAL");
      expect(e.message).toContain("is not a TUN device");
    });
  });

  it("a namespace that does not exist (ENOENT), and a name that cannot be one (EINVAL)", async () => {
    const e = await failure(openTap("tap0", { netns: "us-no-such-ns-4f1c" }));
    expect(e.code).toBe("ENOENT");
    expect(e.message).toBe(
      'Network namespace "us-no-such-ns-4f1c" does not exist: create it with `ip netns add us-no-such-ns-4f1c` (or `userstack-tap setup --netns us-no-such-ns-4f1c`).',
    );
    expect((await failure(openTap("tap0", { netns: "../etc" }))).code).toBe("EINVAL");
  });

  it("interface names the kernel cannot take (EINVAL), and bad options (RangeError)", async () => {
    const long = await failure(openTap("a-name-too-long-for-linux"));
    expect(long.code).toBe("EINVAL");
    expect(long.message).toBe(
      '"a-name-too-long-for-linux" is not a valid interface name: use 1 to 15 letters, digits, ".", "-" or "_" (a "%d" is replaced by a number).',
    );
    expect((await failure(openPacket("eth 0"))).code).toBe("EINVAL");
    await expect(openTap("tap0", { batch: 0 })).rejects.toThrow(RangeError);
    await expect(openTap("tap0", { mtu: 67 })).rejects.toThrow(
      "mtu must be an integer from 68 to 65535, not 67.",
    );
  });

  it("AF_PACKET: a missing interface (ENODEV), one that is down (ENETDOWN), one that is not Ethernet (EINVAL)", async () => {
    await withNetns("us-err", async (ns) => {
      let e = await failure(openPacket("nosuch0", { netns: ns.name }));
      expect(e.code).toBe("ENODEV");
      expect(e.message).toBe(
        `There is no interface "nosuch0" in network namespace "${ns.name}": check the name with \`ip -n ${ns.name} link\`.`,
      );
      const { b } = await veth(ns);
      e = await failure(openPacket(b, { netns: ns.name }));
      expect(e.code).toBe("ENETDOWN");
      expect(e.message).toBe(
        `Interface "${b}" in network namespace "${ns.name}" is down: bring it up with \`ip -n ${ns.name} link set ${b} up\`.`,
      );
      e = await failure(openPacket("lo", { netns: ns.name }));
      expect(e.code).toBe("EINVAL");
      expect(e.message).toContain("is not an Ethernet interface");
    });
  });
});
