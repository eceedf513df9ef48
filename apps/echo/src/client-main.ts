#!/usr/bin/env node
// echo-client: the classic TCPEchoClient on a userstack stack. See --help.
import {
  DRIVER_HELP,
  driverArgs,
  driverConfigFrom,
  intOption,
  onShutdown,
  openNetwork,
  parseProgramArgs,
  runProgram,
  UsageError,
} from "@userstack/netkit";
import { echo } from "./echo-client.js";
import { formatBytes, parseSize, progressPrinter } from "./progress.js";

const NAME = "echo-client";
/** Transfers from this size up show progress. */
const PROGRESS_FROM = 1 << 20;

export const HELP = `usage: echo-client [options] <server ip> <word> [port]

Sends <word> to an echo server and prints what comes back, on a user-space TCP/IP stack — the
classic TCPEchoClient, written against userstack's BSD-style sockets. TCP has no message
boundaries, so the reply is read in as many recv() calls as it takes. port defaults to 7.

  --size <bytes>         send the word repeated to this many bytes (e.g. 64M), checked as it comes back;
                         long transfers show progress on stderr
  -q, --quiet            no progress
  -h, --help             this text

${DRIVER_HELP}

With --driver memory the server address is this machine, 127.0.0.1: the stack dials its gateway
10.0.2.2, which carries the connection to 127.0.0.1:<port>.

Examples:
  echo-client 127.0.0.1 hello                    # to echo-server on this machine (memory driver)
  echo-client --size 100M 127.0.0.1 hello 7007   # 100 MiB through two user-space stacks
  echo-client --driver tunnel 127.0.0.1 hello    # to echo-server --driver tunnel`;

async function main(argv: string[]): Promise<number | undefined> {
  const { values, positionals } = parseProgramArgs(argv, {
    ...driverArgs,
    size: { type: "string" },
    quiet: { type: "boolean", short: "q" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length < 2 || positionals.length > 3)
    throw new UsageError(
      `expected <server ip> <word> [port], as in \`echo-client 127.0.0.1 hello\`, but got ${positionals.length} argument${positionals.length === 1 ? "" : "s"}.`,
    );
  const [server, wordText, portText] = positionals as [string, string, string | undefined];
  const port = intOption(portText, "the port", 1, 65535) ?? 7;
  if (wordText.length === 0) throw new UsageError("the word must not be empty.");
  const word = new TextEncoder().encode(wordText);
  let total = word.length;
  if (values.size !== undefined) {
    const n = parseSize(values.size as string);
    if (n === undefined || n < word.length)
      throw new UsageError(
        `--size must be a byte count such as 1000, 64k, 100M or 2G, at least the word's ${word.length} bytes, not "${values.size}".`,
      );
    total = n;
  }
  const config = driverConfigFrom(values);
  const session = await openNetwork(config, { role: "client" });
  let address: string;
  try {
    address = session.dialAddress(server);
  } catch (e) {
    await session.close();
    throw e;
  }
  onShutdown(NAME, async (signal) => {
    process.stderr.write(`${NAME}: ${signal}, stopping\n`);
    await session.close();
    return 130; // interrupted, as a shell reports it
  });
  const progress = !values.quiet && total >= PROGRESS_FROM ? progressPrinter(process.stderr) : undefined;
  try {
    const r = await echo(session.stack, address, port, word, { total, onProgress: progress?.update });
    progress?.end();
    const via = address === server ? "" : ` via ${address}`;
    if (r.received !== undefined && total === word.length)
      process.stdout.write(`Received: ${new TextDecoder().decode(r.received)}\n`);
    else process.stdout.write(`Received ${formatBytes(r.total)} back, identical to what was sent\n`);
    process.stdout.write(
      `${r.total} bytes echoed by ${server}:${port}${via} in ${r.recvCalls} recv() call${r.recvCalls === 1 ? "" : "s"}, ${r.elapsedMs.toFixed(1)} ms (from ${r.local.address}:${r.local.port}, ${describe(config.driver)})\n`,
    );
  } catch (e) {
    progress?.end();
    const err = e as Error & { code?: string };
    if (err.code === "ECONNREFUSED")
      err.message = `${err.message}: is echo-server running${config.driver === "memory" ? ` and forwarded on 127.0.0.1:${port}` : ""}?`;
    throw err;
  } finally {
    await session.close();
  }
  return 0;
}

function describe(driver: string): string {
  return `${driver} driver`;
}

runProgram(NAME, () => main(process.argv.slice(2)));
