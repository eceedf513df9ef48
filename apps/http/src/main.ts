#!/usr/bin/env node
// userstack-http: node:http on a user-space TCP/IP stack, with a live status page. See --help.
import { existsSync, statSync } from "node:fs";
import {
  DRIVER_HELP,
  driverArgs,
  driverConfigFrom,
  intOption,
  onShutdown,
  parseProgramArgs,
  runProgram,
  UsageError,
} from "@userstack/netkit";
import { startHttpApp } from "./start-app.js";

const NAME = "userstack-http";

export const HELP = `usage: userstack-http [options]

An HTTP/1.1 server (node:http, unmodified) on a user-space TCP/IP stack, with a live status page
at / : the stack's interfaces, its connections refreshing every second, a throughput and cwnd
chart and a sequence diagram of the first segments of the connection you click.

  --port <port>          the port the stack serves on (default 80)
  --forward <port>       memory driver: the port on 127.0.0.1 carried into the stack
                         (default 8080, or $PORT when set; 0 picks a free one)
  --static <dir>         serve the files of <dir> under /files/
  -h, --help             this text

Routes: GET / (status page), GET /bytes/<n> (n bytes of a–z A–Z 0–9 - \\n repeated),
POST /sink (answers the body's byte count and SHA-256), GET /files/<path>, GET /api/status.

${DRIVER_HELP}

Examples:
  userstack-http                                  # then open http://127.0.0.1:8080/
  curl -o /dev/null http://127.0.0.1:8080/bytes/100000000
  sudo userstack-http --driver tap --netns userstack   # after \`sudo userstack-tap setup\`; then
  sudo ip netns exec userstack curl http://10.0.0.2/`;

async function main(argv: string[]): Promise<number | undefined> {
  const { values, positionals } = parseProgramArgs(argv, {
    ...driverArgs,
    port: { type: "string" },
    forward: { type: "string" },
    static: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(
      `userstack-http takes no arguments, only options (got "${positionals[0]}"); --help lists them.`,
    );
  const config = driverConfigFrom(values);
  const port = intOption(values.port as string | undefined, "--port", 1, 65535) ?? 80;
  const forwardText =
    (values.forward as string | undefined) ?? (config.driver === "memory" ? process.env.PORT : undefined);
  const forward = intOption(forwardText, values.forward !== undefined ? "--forward" : "$PORT", 0, 65535);
  if (values.forward !== undefined && config.driver !== "memory")
    throw new UsageError(
      "--forward applies to --driver memory only; other drivers are reached at the stack's own address.",
    );
  const staticDir = values.static as string | undefined;
  if (staticDir !== undefined && !(existsSync(staticDir) && statSync(staticDir).isDirectory()))
    throw new UsageError(`--static must name a directory, and "${staticDir}" is not one.`);

  const app = await startHttpApp({ ...config, port, forward, staticDir });
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const s = app.session;
  const where =
    s.device !== undefined
      ? `${config.driver} driver, device ${s.device.name}${s.device.netns ? ` in namespace ${s.device.netns}` : ""}`
      : s.tunnel !== undefined
        ? `tunnel driver, ${s.tunnel.mode} tunnel on ${s.tunnel.address}:${s.tunnel.port}`
        : `${config.driver} driver`;
  log(`${NAME}: serving on ${s.stack.address}:${port} (${where})`);
  if (app.forwarder !== undefined)
    log(`${NAME}: forwarding 127.0.0.1:${app.forwarder.port} into the stack, like slirp's hostfwd`);
  if (config.pcap !== undefined) log(`${NAME}: capturing to ${config.pcap}`);
  if (staticDir !== undefined) log(`${NAME}: serving ${staticDir} under /files/`);
  if (config.driver === "tunnel")
    log(
      `${NAME}: reach it from another userstack host over the tunnel (the kernel's TCP cannot): ${app.url}`,
    );
  else if (s.device?.netns !== undefined)
    log(`${NAME}: open ${app.url} from the namespace: sudo ip netns exec ${s.device.netns} curl ${app.url}`);
  else log(`${NAME}: open ${app.url}`);
  onShutdown(NAME, async (signal) => {
    log(`${NAME}: ${signal}, closing ${s.stack.stats().length} connection(s)`);
    await app.close();
    log(`${NAME}: stopped`);
  });
  return undefined;
}

runProgram(NAME, () => main(process.argv.slice(2)));
