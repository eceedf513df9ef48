#!/usr/bin/env node
// userstack-tap: a sandbox to try a userstack stack against the Linux kernel without touching the
// machine's real network. `setup` makes a network namespace holding a persistent TAP device with the
// kernel side's address; `teardown` removes them. Everything goes through iproute2, and every
// command is printed before it runs, so nothing happens that the user cannot see or repeat.
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";

const USAGE = `usage:
  sudo userstack-tap setup    [--netns userstack] [--tap tap0] [--address 10.0.0.1/24] [--mtu 1500] [--user <name|uid>]
  sudo userstack-tap teardown [--netns userstack] [--tap tap0]

setup     creates network namespace --netns (if missing) with persistent TAP device --tap in it, owned by
          --user (default: the user who ran sudo), with the kernel side's address --address, and brings it up.
teardown  deletes the TAP device, and the namespace when nothing else is left in it.`;

interface Options {
  netns: string;
  tap: string;
  address: string;
  mtu: string | undefined;
  user: string | undefined;
}

/** A one-sentence failure the CLI prints without a stack trace. */
class UsageError extends Error {}

function ip(args: string[], quiet = false): string {
  if (!quiet) console.log(`+ ip ${args.join(" ")}`);
  try {
    return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { code?: string; stderr?: string };
    if (err.code === "ENOENT")
      throw new UsageError("`ip` was not found: install iproute2 (apt-get install iproute2).");
    throw new UsageError(`\`ip ${args.join(" ")}\` failed: ${(err.stderr ?? "").trim()}`);
  }
}

function namespaces(): string[] {
  return ip(["netns", "list"], true)
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter(Boolean);
}

function interfaces(netns: string): string[] {
  return ip(["-n", netns, "-o", "link"], true)
    .split("\n")
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

function setup(o: Options): void {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(o.address)) {
    throw new UsageError(
      `--address must be an IPv4 address with its prefix, like 10.0.0.1/24, not "${o.address}".`,
    );
  }
  const user = o.user ?? process.env.SUDO_UID;
  const created = !namespaces().includes(o.netns);
  if (created) {
    ip(["netns", "add", o.netns]);
    ip(["-n", o.netns, "link", "set", "lo", "up"]);
  } else if (interfaces(o.netns).includes(o.tap)) {
    throw new UsageError(
      `"${o.tap}" already exists in network namespace "${o.netns}": use it as it is, or run \`sudo userstack-tap teardown --netns ${o.netns} --tap ${o.tap}\` first.`,
    );
  }
  ip(["-n", o.netns, "tuntap", "add", "dev", o.tap, "mode", "tap", ...(user ? ["user", user] : [])]);
  if (o.mtu) ip(["-n", o.netns, "link", "set", o.tap, "mtu", o.mtu]);
  ip(["-n", o.netns, "addr", "add", o.address, "dev", o.tap]);
  ip(["-n", o.netns, "link", "set", o.tap, "up"]);
  const [kernelIp, prefix] = o.address.split("/") as [string, string];
  const parts = kernelIp.split(".").map(Number);
  parts[3] = parts[3] === 2 ? 3 : 2;
  const example = parts.join(".");
  console.log(`
Network namespace "${o.netns}" now holds TAP device "${o.tap}"${user ? ` (owned by user ${user})` : ""}; the kernel side is ${o.address}.
Open it from a program running as root:
  const tap = await openTap("${o.tap}", { netns: "${o.netns}" });
or run the program inside the namespace${user ? " as that user" : ""} and open it without the netns option:
  sudo ip netns exec ${o.netns} ${user ? `sudo -u ${/^\d+$/.test(user) ? `\\#${user}` : user} ` : ""}node app.js
Give the stack another address of ${kernelIp}/${prefix} (say ${example}), then from the kernel side:
  sudo ip netns exec ${o.netns} ping ${example}
Remove it all with:
  sudo userstack-tap teardown --netns ${o.netns} --tap ${o.tap}`);
}

function teardown(o: Options): void {
  if (!namespaces().includes(o.netns)) {
    console.log(`Network namespace "${o.netns}" does not exist: nothing to remove.`);
    return;
  }
  if (interfaces(o.netns).includes(o.tap)) ip(["-n", o.netns, "link", "del", o.tap]);
  const left = interfaces(o.netns)
    .filter((n) => n !== "lo")
    .sort();
  if (left.length === 0) {
    ip(["netns", "del", o.netns]);
    console.log(`Removed "${o.tap}" and network namespace "${o.netns}".`);
  } else {
    console.log(
      `Removed "${o.tap}"; network namespace "${o.netns}" still holds ${left.join(", ")}, so it stays (\`sudo ip netns del ${o.netns}\` removes it).`,
    );
  }
}

function main(argv: string[]): number {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { command, options } = parsed;
  if (command === "help" || command === undefined) {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== "setup" && command !== "teardown") {
    console.error(`Unknown command "${command}".\n\n${USAGE}`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    console.error(
      `userstack-tap ${command} changes network namespaces and devices, which needs root: run it with sudo.`,
    );
    return 1;
  }
  try {
    if (command === "setup") setup(options);
    else teardown(options);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
}

function parse(argv: string[]): { command: string | undefined; options: Options } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      netns: { type: "string", default: "userstack" },
      tap: { type: "string", default: "tap0" },
      address: { type: "string", default: "10.0.0.1/24" },
      mtu: { type: "string" },
      user: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const name = /^[A-Za-z0-9_.-]{1,15}$/;
  if (!name.test(values.tap!))
    throw new Error(`--tap must be an interface name of 1 to 15 letters, digits, ".", "-" or "_".`);
  if (!/^[A-Za-z0-9_.-]+$/.test(values.netns!))
    throw new Error(`--netns must be a plain name, like "userstack".`);
  if (values.mtu !== undefined && !/^\d+$/.test(values.mtu))
    throw new Error("--mtu must be a number, like 1500.");
  return {
    command: values.help ? "help" : positionals[0],
    options: {
      netns: values.netns!,
      tap: values.tap!,
      address: values.address!,
      mtu: values.mtu,
      user: values.user,
    },
  };
}

process.exitCode = main(process.argv.slice(2));
