// Run by close.test.ts as its own process: opens a TAP in the namespace named by argv[2], reads a
// UDP flood from the kernel side, closes the link mid-flood and then simply returns. The parent
// checks that the process exits by itself: nothing (poll thread, eventfd, timers) keeps it alive.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { openTap } from "../../src/index.js";

const [netns, name] = process.argv.slice(2) as [string, string];
const tap = await openTap(name, { netns });
let frames = 0;
let afterClose = 0;
let closed = false;
tap.attach({
  receive() {
    frames++;
    if (closed) afterClose++;
  },
  flush() {},
});
execFileSync("ip", ["-n", netns, "link", "set", name, "up"]);
execFileSync("ip", ["-n", netns, "addr", "add", "10.0.0.1/24", "dev", name]);
execFileSync("ip", ["-n", netns, "neigh", "add", "10.0.0.2", "lladdr", "02:00:00:00:00:02", "dev", name]);
// A flood bounded in time (5 s) from the kernel side, ended by PID once the link is closed.
const blaster: ChildProcess = spawn(
  "ip",
  [
    "netns",
    "exec",
    netns,
    "python3",
    "-c",
    "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nend=time.time()+5\nwhile time.time()<end:\n  s.sendto(b'x'*64,('10.0.0.2',9))",
  ],
  { stdio: "ignore" },
);
while (frames < 2000) await new Promise((r) => setTimeout(r, 5));
const t0 = performance.now();
closed = true;
await tap.close();
const closeMs = performance.now() - t0;
blaster.kill("SIGKILL");
await new Promise((r) => setTimeout(r, 100)); // frames still in flight would show up here
console.log(JSON.stringify({ frames, afterClose, closeMs, txDropped: tap.stats.txDropped }));
