// An application process using a daemon's stack through the client library, driven by the tests:
//   node --import tsx test/remote-client.ts <socket path>
// It prints {"ready":true,...} once connected, then runs one JSON command per stdin line
// ({"id":1,"op":"echo",...}) and prints {"id":1,...} when done; asynchronous happenings (errors of
// held connections, the daemon going away) are printed as {"event":...}. It exits when stdin ends.

import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import type { UserstackSocket } from "@userstack/sockets";
import { connectDaemon } from "../src/index.js";
import { pattern, sha } from "./helpers.js";

const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const stack = await connectDaemon(process.argv[2]!);
stack.on("disconnect", (e: Error) => print({ event: "disconnect", message: e.message }));
print({ ready: true, pid: process.pid, address: stack.address });

const codeOf = (e: Error & { code?: string }) => e.code ?? e.message;

function connected(host: string, port: number, tag?: string): Promise<UserstackSocket> {
  return new Promise((resolve, reject) => {
    const c = stack.connect(port, host);
    c.once("connect", () => resolve(c));
    c.once("error", (e) => {
      reject(e);
      if (tag !== undefined) print({ event: "socket-error", tag, code: codeOf(e) });
    });
  });
}

function readAll(c: UserstackSocket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    c.on("data", (d: Buffer) => chunks.push(d));
    c.on("end", () => resolve(Buffer.concat(chunks)));
    c.on("error", reject);
  });
}

type Args = { host: string; port: number; size: number; seed: number; tag: string };
const ops: Record<string, (a: Args) => Promise<object>> = {
  async listenEcho({ port, tag }) {
    const server = stack.createServer((s) => {
      print({ event: "accepted", tag, remotePort: s.remotePort });
      s.on("error", (e) => print({ event: "socket-error", tag: `${tag}-accepted`, code: codeOf(e) }));
      s.pipe(s);
    });
    server.on("error", (e: Error & { code?: string }) =>
      print({ event: "server-error", tag, code: codeOf(e) }),
    );
    await new Promise<void>((resolve) => server.listen(port, resolve));
    return { port: (server.address() as AddressInfo).port };
  },
  async echo({ host, port, size, seed }) {
    const data = pattern(size, seed);
    const c = await connected(host, port);
    const got = readAll(c);
    c.end(data);
    const echoed = await got;
    return { sent: sha(data), got: sha(echoed), length: echoed.length };
  },
  async sendTo({ host, port, size, seed }) {
    const data = pattern(size, seed);
    const c = await connected(host, port);
    const reply = readAll(c);
    c.end(data);
    return { sent: sha(data), reply: (await reply).toString() };
  },
  async stream({ host, port, tag }) {
    const c = await connected(host, port, tag);
    const chunk = pattern(64 * 1024, 99);
    const pump = () => {
      while (c.write(chunk)) {}
    };
    c.on("drain", pump);
    pump();
    return { localPort: c.localPort };
  },
  async hold({ host, port, tag }) {
    const c = await connected(host, port, tag);
    c.resume();
    return { localPort: c.localPort };
  },
  async stats() {
    return stack.stats();
  },
};

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const { id, op, ...args } = JSON.parse(line) as { id: number; op: string } & Args;
  ops[op]!(args as Args).then(
    (r) => print({ id, ...r }),
    (e: Error & { code?: string }) => print({ id, error: codeOf(e) }),
  );
});
lines.on("close", () => process.exit(0));
setTimeout(() => process.exit(3), 120_000).unref(); // never outlive a test run
