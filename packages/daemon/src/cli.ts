#!/usr/bin/env node
// userstackd: one userstack stack in a daemon, served to other processes over a UNIX socket.
// Applications reach it with connectDaemon() from @userstack/daemon and use the same Node, WHATWG
// and BSD socket faces as with a local stack.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { TunnelMode, TunnelRoute } from "@userstack/driver-tunnel";
import { DEFAULT_TCP_CONFIG, type TcpConfig } from "@userstack/tcp";
import { DaemonError } from "./daemon-errors.js";
import { type Daemon, startDaemon } from "./daemon-server.js";
import { type DriverSpec, openDriver } from "./driver-spec.js";
import { defaultSocketPath } from "./socket-path.js";

const USAGE = `userstackd: a userstack TCP/IP stack in a daemon; other processes use it through
connectDaemon() from @userstack/daemon, with the Node, WHATWG-stream and BSD socket faces.

usage: userstackd [--socket PATH] [--mode 0600] [--driver memory|tunnel|tun|tap] [driver options]

  --socket PATH        the UNIX socket to serve (default ${defaultSocketPath()})
  --mode OCTAL         permissions of the socket file (default 0600: only your user)
  --driver KIND        what the stack runs on:
                         memory  a loopback link; clients talk to each other through the stack (default)
                         tunnel  chiTCP-style: TCP segments inside real TCP to other tunnel hosts
                         tun     a Linux TUN device (IP), from @userstack/driver-tap
                         tap     a Linux TAP device (Ethernet), from @userstack/driver-tap
  --tcp KEY=VALUE      a TCP default of the stack's connections, e.g. sendBufferSize=1048576 (repeatable)
  --quiet              print only errors

memory, tun, tap:
  --ipv4 CIDR          the stack's address and prefix (memory: the address alone, default 10.0.0.1)
  --mtu N              the link's MTU (memory: default 65535)
tun, tap:
  --device NAME        the device (default tun0 or tap0)
  --gateway ADDR       default gateway
  --netns NAME         open the device in this network namespace (root)
  --mac MAC            tap: the stack's MAC address
tunnel:
  --tunnel-address A   this host's real address, also its address on the emulated network (default 127.0.0.1)
  --tunnel-port N      the port the tunnel listens on (default 23300; 0 picks a free one)
  --peer-port N        the tunnel port of peers no route names (default 23300)
  --tunnel-mode M      userstack (default) or chitcp (talks to a chitcpd)
  --route A[:P]=PORT   segments for address A (and TCP port P) go to the tunnel on PORT (repeatable)

  -h, --help           this text
  --version            the version

SIGINT and SIGTERM stop the daemon cleanly: clients see ECONNRESET, the socket file is removed.
Example (two terminals):
  userstackd --socket /tmp/us.sock
  node -e 'import("@userstack/daemon").then(async ({ connectDaemon }) => { const s = await connectDaemon("/tmp/us.sock"); console.log(s.address); await s.close(); })'`;

/** A bad command line: printed with a pointer to --help, exit status 2. */
class UsageError extends Error {}

function fail(message: string): never {
  throw new UsageError(message);
}

function integer(text: string | undefined, what: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)
    fail(`${what} must be an integer from ${min} to ${max}, not "${text}".`);
  return Number(text);
}

function parseTcp(items: string[]): Partial<TcpConfig> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(item);
    if (!m) fail(`--tcp takes KEY=VALUE, such as sendBufferSize=1048576, not "${item}".`);
    const [, key, value] = m as unknown as [string, string, string];
    if (!Object.hasOwn(DEFAULT_TCP_CONFIG, key))
      fail(
        `--tcp ${key}: unknown TCP setting; known ones are ${Object.keys(DEFAULT_TCP_CONFIG).join(", ")}.`,
      );
    const kind = typeof DEFAULT_TCP_CONFIG[key as keyof TcpConfig];
    if (kind === "number") {
      if (!/^\d+(\.\d+)?$/.test(value)) fail(`--tcp ${key} must be a number, not "${value}".`);
      out[key] = Number(value);
    } else if (kind === "boolean") {
      if (value !== "true" && value !== "false") fail(`--tcp ${key} must be true or false, not "${value}".`);
      out[key] = value === "true";
    } else out[key] = value;
  }
  return out as Partial<TcpConfig>;
}

function parseRoute(text: string): TunnelRoute {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d+))?=(\d+)$/.exec(text);
  if (!m) fail(`--route takes ADDRESS[:TCPPORT]=TUNNELPORT, such as 127.0.0.1:80=23302, not "${text}".`);
  return {
    address: m[1]!,
    ...(m[2] ? { tcpPort: integer(m[2], "--route's TCP port", 1, 65535)! } : {}),
    port: integer(m[3], "--route's tunnel port", 1, 65535)!,
  };
}

function parse(argv: string[]): {
  help?: true;
  version?: true;
  socket: string;
  mode: number;
  driver: DriverSpec;
  tcp: Partial<TcpConfig>;
  quiet: boolean;
} {
  let parsed: ReturnType<
    typeof parseArgs<{ options: typeof OPTIONS; strict: true; allowPositionals: false }>
  >;
  const OPTIONS = {
    socket: { type: "string" },
    mode: { type: "string" },
    driver: { type: "string" },
    tcp: { type: "string", multiple: true },
    quiet: { type: "boolean" },
    ipv4: { type: "string" },
    mtu: { type: "string" },
    device: { type: "string" },
    gateway: { type: "string" },
    netns: { type: "string" },
    mac: { type: "string" },
    "tunnel-address": { type: "string" },
    "tunnel-port": { type: "string" },
    "peer-port": { type: "string" },
    "tunnel-mode": { type: "string" },
    route: { type: "string", multiple: true },
    help: { type: "boolean", short: "h" },
    version: { type: "boolean" },
  } as const;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  } catch (e) {
    // Node's own message, cut to its first sentence ("Unknown option '--x'.").
    fail(`${(e as Error).message.split(/\.\s|\n/)[0]!.replace(/\.$/, "")}.`);
  }
  const v = parsed.values;
  const base = { socket: v.socket ?? defaultSocketPath(), quiet: v.quiet ?? false };
  if (v.help) return { help: true, ...base, mode: 0o600, driver: { kind: "memory" }, tcp: {} };
  if (v.version) return { version: true, ...base, mode: 0o600, driver: { kind: "memory" }, tcp: {} };
  if (v.mode !== undefined && !/^0?[0-7]{3}$/.test(v.mode))
    fail(`--mode must be octal permissions such as 0600, not "${v.mode}".`);
  const mode = v.mode === undefined ? 0o600 : Number.parseInt(v.mode, 8);
  const kind = v.driver ?? "memory";
  const only = (names: (keyof typeof v)[], driverKinds: string[]) => {
    for (const n of names)
      if (v[n] !== undefined && !driverKinds.includes(kind))
        fail(`--${n} applies to --driver ${driverKinds.join(" or ")}, not ${kind}.`);
  };
  only(["tunnel-address", "tunnel-port", "peer-port", "tunnel-mode", "route"], ["tunnel"]);
  only(["device", "gateway", "netns"], ["tun", "tap"]);
  only(["mac"], ["tap"]);
  only(["ipv4", "mtu"], ["memory", "tun", "tap"]);
  let driver: DriverSpec;
  switch (kind) {
    case "memory":
      if (v.ipv4 !== undefined && !/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(v.ipv4))
        fail(`--ipv4 must be an IPv4 address such as 10.0.0.1, not "${v.ipv4}".`);
      driver = { kind, address: v.ipv4?.replace(/\/\d+$/, ""), mtu: integer(v.mtu, "--mtu", 68, 65535) };
      break;
    case "tunnel": {
      const tm = v["tunnel-mode"];
      if (tm !== undefined && tm !== "userstack" && tm !== "chitcp")
        fail(`--tunnel-mode is userstack or chitcp, not "${tm}".`);
      driver = {
        kind,
        address: v["tunnel-address"],
        port: integer(v["tunnel-port"], "--tunnel-port", 0, 65535),
        peerPort: integer(v["peer-port"], "--peer-port", 1, 65535),
        mode: tm as TunnelMode | undefined,
        routes: (v.route ?? []).map(parseRoute),
      };
      break;
    }
    case "tun":
    case "tap":
      if (v.ipv4 === undefined)
        fail(`--driver ${kind} needs --ipv4, the stack's address such as 10.0.0.2/24.`);
      driver = {
        kind,
        name: v.device ?? `${kind}0`,
        ipv4: v.ipv4,
        gateway: v.gateway,
        netns: v.netns,
        mtu: integer(v.mtu, "--mtu", 68, 65535),
        ...(kind === "tap" ? { mac: v.mac } : {}),
      } as DriverSpec;
      break;
    default:
      fail(`--driver is memory, tunnel, tun or tap, not "${kind}".`);
  }
  return { ...base, mode, driver, tcp: parseTcp(v.tcp ?? []) };
}

async function main(): Promise<number> {
  let o: ReturnType<typeof parse>;
  try {
    o = parse(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`userstackd: ${e.message}\nRun \`userstackd --help\` for the options.`);
    return 2;
  }
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  if (o.version) {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    console.log(pkg.version);
    return 0;
  }
  const log = o.quiet ? () => {} : (line: string) => console.log(line);
  let daemon: Daemon;
  try {
    const driver = await openDriver(o.driver, (line) => console.error(line));
    daemon = await startDaemon({ ...driver, tcp: o.tcp, socketPath: o.socket, mode: o.mode, log });
  } catch (e) {
    console.error(e instanceof DaemonError ? e.message : `userstackd: ${(e as Error).message}`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        console.error(`userstackd: ${signal} again; exiting without waiting.`);
        process.exit(1);
      }
      stopping = true;
      log(`userstackd: ${signal}; stopping`);
      void daemon.close().then(resolve);
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
  });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`userstackd: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
