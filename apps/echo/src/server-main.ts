#!/usr/bin/env node
// echo-server: the classic TCPEchoServer on a userstack stack. See --help.
import {
  DRIVER_HELP,
  driverArgs,
  driverConfigFrom,
  intOption,
  onShutdown,
  openNetwork,
  parseProgramArgs,
  runProgram,
  settle,
  UsageError,
} from "@userstack/netkit";
import { describeDriver } from "./describe-network.js";
import { EchoServer } from "./echo-server.js";

const NAME = "echo-server";

export const HELP = `usage: echo-server [options] [port]

Echoes back whatever each client sends, to many clients at once, on a user-space TCP/IP stack —
the classic TCPEchoServer, written against userstack's BSD-style sockets. port defaults to 7.

  --forward <port>       memory driver: the port on 127.0.0.1 carried into the stack (default: port)
  -h, --help             this text

${DRIVER_HELP}

Examples:
  echo-server                                   # on the memory driver, reachable at 127.0.0.1:7
  echo-server --forward 7007 7                  # no root needed for a port from 1024 up
  echo-client 127.0.0.1 hello 7007              # in another terminal
  sudo echo-server --driver tap --netns userstack   # after \`sudo userstack-tap setup\`; then
  sudo ip netns exec userstack nc -N 10.0.0.2 7`;

async function main(argv: string[]): Promise<number | undefined> {
  const { values, positionals } = parseProgramArgs(argv, {
    ...driverArgs,
    forward: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length > 1)
    throw new UsageError(
      `expected at most one argument, the port, but got ${positionals.length}: ${positionals.join(" ")}.`,
    );
  const port = intOption(positionals[0], "the port", 1, 65535) ?? 7;
  const config = driverConfigFrom(values);
  const forward = intOption(values.forward as string | undefined, "--forward", 0, 65535);
  if (forward !== undefined && config.driver !== "memory")
    throw new UsageError(
      "--forward applies to --driver memory only; other drivers are reached at the stack's own address.",
    );

  const session = await openNetwork(config, { role: "server" });
  const log = (line: string) => process.stdout.write(`${line}\n`);
  let server: EchoServer;
  try {
    server = await EchoServer.start(session.stack, port, log);
    const where = `${session.stack.address}:${server.port}`;
    log(`${NAME}: listening on ${where} (${describeDriver(session)})`);
    if (session.virtual !== undefined) {
      const f = await session.virtual.forward(forward ?? port, server.port);
      log(
        `${NAME}: the host reaches it at 127.0.0.1:${f.port} (forwarded into the virtual network, like slirp's hostfwd)`,
      );
    }
    if (config.pcap !== undefined) log(`${NAME}: capturing to ${config.pcap}`);
  } catch (e) {
    await session.close();
    throw e;
  }
  onShutdown(NAME, async (signal) => {
    log(`${NAME}: ${signal}, closing ${server.active} connection${server.active === 1 ? "" : "s"}`);
    await server.close();
    await settle(session.stack);
    await session.close();
    log(`${NAME}: stopped after serving ${server.served} client${server.served === 1 ? "" : "s"}`);
  });
  return undefined;
}

runProgram(NAME, () => main(process.argv.slice(2)));
