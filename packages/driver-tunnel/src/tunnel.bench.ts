// `pnpm bench` in packages/driver-tunnel: segments through two tunnels over real TCP on 127.0.0.1,
// with a window of segments in flight (as TCP above would keep), checksums verified on receive.
import { type BenchResult, machine, report } from "@userstack/testkit";
import { LOOPBACK, segment } from "../test/helpers.js";
import { createTunnel, type TunnelMode } from "./index.js";

async function throughput(name: string, mode: TunnelMode, payload: number, count: number, window: number) {
  const b = await createTunnel({ port: 0, mode, log: false });
  const a = await createTunnel({ port: 0, mode, peerPort: b.port, log: false });
  const seg = segment(40000, 80, 1, payload);
  let got = 0;
  let sent = 0;
  let target = 0;
  let done: () => void = () => {};
  const pump = () => {
    while (sent < target && sent - got < window) {
      a.send(LOOPBACK, 6, seg);
      sent++;
    }
    if (got >= target) done();
  };
  b.attach({ receive: () => got++, flush: pump });
  const runTo = (n: number) =>
    new Promise<void>((resolve) => {
      target = n;
      done = resolve;
      pump();
    });
  await runTo(Math.min(2000, count)); // warm-up: connection open, code optimised
  const start = performance.now();
  await runTo(sent + count);
  const ms = performance.now() - start;
  await Promise.all([a.close(), b.close()]);
  const bytes = count * seg.length;
  const r: BenchResult = {
    name,
    ops: count,
    nsPerOp: (ms * 1e6) / count,
    extra: {
      "segments/s": Math.round(count / (ms / 1000)).toLocaleString("en"),
      "Gbit/s": ((bytes * 8) / (ms * 1e6)).toFixed(2),
    },
  };
  return r;
}

const results = [
  await throughput("userstack mode, 1480-byte segments (MSS 1460)", "userstack", 1460, 200_000, 256),
  await throughput("userstack mode, 65515-byte segments", "userstack", 65495, 20_000, 64),
  await throughput("chiTCP mode, 556-byte segments (MSS 536)", "chitcp", 536, 200_000, 256),
];
report(`@userstack/driver-tunnel on ${machine()}`, results);
