// A whole host in its own process for the full-stack tests: a userstack stack whose network layer is
// a tunnel on a free port of 127.0.0.1, with three servers — echo on 7, a sink on 9 that answers
// with the SHA-256 of what it received, and node:http on 80 (GET /bytes/N, POST /sink). Started by
// the tests as
//   node --import tsx test/stack-peer.ts <parent tunnel port>
// it prints {"port":N,"pid":P}, and exits when its stdin closes (so it never outlives the test) or
// after 5 minutes at most.
import { createHash } from "node:crypto";
import http from "node:http";
import { createStack } from "@userstack/sockets";
import { createTunnel } from "../src/index.js";
import { pattern } from "./stack-helpers.js";

const parentPort = Number(process.argv[2]);
const tunnel = await createTunnel({ address: "127.0.0.1", port: 0, peerPort: parentPort, log: false });
const stack = createStack({ network: tunnel });

stack
  .createServer((s) => {
    s.on("error", () => {});
    s.pipe(s);
  })
  .listen(7);

stack
  .createServer((s) => {
    const h = createHash("sha256");
    let n = 0;
    s.on("data", (d: Buffer) => {
      h.update(d);
      n += d.length;
    });
    s.on("error", () => {});
    s.on("end", () => s.end(JSON.stringify({ bytes: n, sha256: h.digest("hex") })));
  })
  .listen(9);

const app = http.createServer((req, res) => {
  if (req.method === "GET" && req.url?.startsWith("/bytes/")) {
    const body = pattern(Number(req.url.slice(7)), 80);
    res.writeHead(200, {
      "content-length": body.length,
      "x-sha256": createHash("sha256").update(body).digest("hex"),
    });
    res.end(body);
    return;
  }
  const h = createHash("sha256");
  let n = 0;
  req.on("data", (d: Buffer) => {
    h.update(d);
    n += d.length;
  });
  req.on("end", () => res.end(JSON.stringify({ bytes: n, sha256: h.digest("hex") })));
});
stack.createServer((s) => app.emit("connection", s)).listen(80);

process.stdout.write(`${JSON.stringify({ port: tunnel.port, pid: process.pid })}\n`);
const stop = async () => {
  await stack.close();
  process.exit(0);
};
process.stdin.on("end", stop);
process.stdin.resume();
setTimeout(stop, 300_000).unref();
