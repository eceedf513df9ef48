// The servers and clients of daemon.bench.ts, written once against the socket faces so that the same
// code measures a local stack, a stack over a tunnel, one behind userstackd and one in a worker.
import http from "node:http";
import type { SocketFaces } from "@userstack/sockets";
import { sendRepeated } from "@userstack/testkit";

/** Port 9: a sink that answers with the byte count when the stream ends. Port 80: node:http "hello". */
export async function serveBenchmark(stack: SocketFaces): Promise<void> {
  const sink = stack.createServer((s) => {
    let n = 0;
    s.on("data", (d: Buffer) => {
      n += d.length;
    });
    s.on("end", () => s.end(String(n)));
    s.on("error", () => {});
  });
  const app = http.createServer((_req, res) => res.end("hello from userstack\n"));
  const web = stack.createServer((s) => app.emit("connection", s));
  await Promise.all([
    new Promise<void>((resolve) => sink.listen(9, resolve)),
    new Promise<void>((resolve) => web.listen(80, resolve)),
  ]);
}

/** Sends `bytes` to the sink at `host`; returns Gbit/s from connect to the sink's answer. */
export async function bulk(stack: SocketFaces, host: string, bytes: number): Promise<number> {
  const chunk = Buffer.alloc(1 << 20, 7);
  const t0 = performance.now();
  const s = stack.connect(9, host);
  let reply = "";
  const done = new Promise<void>((resolve, reject) => {
    s.on("data", (d: Buffer) => {
      reply += d;
    });
    s.on("end", () => resolve());
    s.on("error", reject);
  });
  sendRepeated(s, chunk, bytes);
  await done;
  const seconds = (performance.now() - t0) / 1000;
  if (Number(reply) !== bytes) throw new Error(`bulk: the sink received ${reply} of ${bytes}`);
  return (bytes * 8) / seconds / 1e9;
}

/** node:http keep-alive GETs from `concurrency` clients for `seconds`; returns requests/s. */
export async function httpRate(
  stack: SocketFaces,
  host: string,
  seconds: number,
  concurrency: number,
): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  (agent as unknown as { createConnection: unknown }).createConnection = () => stack.connect(80, host);
  let count = 0;
  const stop = performance.now() + seconds * 1000;
  const client = async () => {
    while (performance.now() < stop) {
      await new Promise<void>((resolve, reject) => {
        http
          .get({ host, port: 80, path: "/", agent }, (res) => {
            res.resume();
            res.on("end", () => resolve());
          })
          .on("error", reject);
      });
      count++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, client));
  const rate = count / ((performance.now() - t0) / 1000);
  agent.destroy();
  return rate;
}
