// The far host of the two-process tunnel benchmark: a stack over a tunnel on a free port of
// 127.0.0.1 serving the benchmark's sink (port 9) and HTTP (port 80). Started by daemon.bench.ts as
//   node --import tsx test/bench-peer.ts <the benchmark's tunnel port>
// it prints {"port":N} and exits when its stdin closes.
import { createTunnel } from "@userstack/driver-tunnel";
import { createStack } from "@userstack/sockets";
import { serveBenchmark } from "./bench-servers.js";

const tunnel = await createTunnel({
  address: "127.0.0.1",
  port: 0,
  peerPort: Number(process.argv[2]),
  log: false,
});
const stack = createStack({ network: tunnel });
await serveBenchmark(stack);
process.stdout.write(`${JSON.stringify({ port: tunnel.port })}\n`);
process.stdin.on("end", () => void stack.close().then(() => process.exit(0)));
process.stdin.resume();
setTimeout(() => process.exit(0), 600_000).unref();
