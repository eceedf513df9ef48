// A tunnel host in its own process, for the two-process tests. Started by the test with
//   node --import tsx test/echo-peer.ts <mode> <parent tunnel port> <segments to push>
// it listens on a free port of 127.0.0.1, prints {"port":N}, pushes its own segments to the parent,
// echoes every segment it receives (ports swapped), and exits when its stdin closes (so it never
// outlives the test) or after 60 s at most.
import { createTunnel, type TunnelMode } from "../src/index.js";
import { echoOf, LOOPBACK, segment } from "./helpers.js";

const [mode = "userstack", parentPort = "23300", count = "0"] = process.argv.slice(2);
const tunnel = await createTunnel({
  address: "127.0.0.1",
  port: 0,
  mode: mode as TunnelMode,
  peerPort: Number(parentPort),
  log: false,
});
tunnel.attach({
  receive: (source, _destination, _protocol, s) => tunnel.send(source, 6, echoOf(s)),
  flush() {},
});
process.stdout.write(`${JSON.stringify({ port: tunnel.port, pid: process.pid })}\n`);
const max = mode === "chitcp" ? 980 : 60_000;
for (let i = 0; i < Number(count); i++) tunnel.send(LOOPBACK, 6, segment(7000, 7001, i, (i * 4099) % max));

const stop = async () => {
  await tunnel.close();
  process.exit(0);
};
process.stdin.on("end", stop);
process.stdin.resume();
setTimeout(stop, 60_000).unref();
