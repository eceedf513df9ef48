// `pnpm bench` in packages/link: the cost of moving frames through the in-memory links and the
// wrappers, in virtual time (so the figures are CPU cost, not timer latency).
import { bench, machine, report } from "@userstack/testkit";
import { withCapture } from "./capture.js";
import { withFaults } from "./faults.js";
import { memoryPair } from "./memory-pair.js";
import { MemorySwitch } from "./memory-switch.js";
import { VirtualClock } from "./virtual-clock.js";

const BATCH = 64;
const FRAME = 1514;

function frames(): Uint8Array[] {
  return Array.from({ length: BATCH }, (_, i) => {
    const f = new Uint8Array(FRAME);
    f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    f[20] = i;
    return f;
  });
}

const nullSink = { write() {} };
const sink = { receive() {}, flush() {} };

function perBatch(name: string, make: (clock: VirtualClock) => { send(f: Uint8Array): void }) {
  const clock = new VirtualClock();
  const link = make(clock);
  const fs = frames();
  const r = bench(name, () => {
    for (const f of fs) link.send(f);
    clock.advance(0);
  });
  const nsPerFrame = r.nsPerOp / BATCH;
  r.extra = {
    "ns/frame": nsPerFrame.toFixed(1),
    "Mframes/s": (1e3 / nsPerFrame).toFixed(2),
    "Gbit/s": ((FRAME * 8) / nsPerFrame).toFixed(2),
  };
  return r;
}

const results = [
  perBatch("memoryPair, 64 x 1514 B then one delivery batch", (clock) => {
    const [a, b] = memoryPair({ clock });
    b.attach(sink);
    return a;
  }),
  perBatch("MemorySwitch (4 ports, learned unicast)", (clock) => {
    const sw = new MemorySwitch({ clock });
    const ports = [sw.port(), sw.port(), sw.port(), sw.port()];
    for (const p of ports) p.attach(sink);
    const learn = new Uint8Array(60);
    learn.set([255, 255, 255, 255, 255, 255, 2, 0, 0, 0, 0, 2]);
    ports[1]!.send(learn);
    clock.advance(0);
    return ports[0]!;
  }),
  perBatch("withFaults(pair), 1% loss, no timing faults", (clock) => {
    const [a, b] = memoryPair({ clock });
    b.attach(sink);
    return withFaults(a, { seed: 1, drop: 0.01, clock });
  }),
  perBatch("withFaults(pair), 1 ms delay + 0.5 ms jitter", (clock) => {
    const [a, b] = memoryPair({ clock });
    b.attach(sink);
    const f = withFaults(a, { seed: 1, delayMs: 1, jitterMs: 0.5, clock });
    return {
      send(frame: Uint8Array) {
        f.send(frame);
        if (frame[20] === BATCH - 1) clock.advance(2);
      },
    };
  }),
  perBatch("withCapture(pair) to a discarding sink", (clock) => {
    const [a, b] = memoryPair({ clock });
    b.attach(sink);
    return withCapture(a, nullSink, clock);
  }),
];
report(`@userstack/link on ${machine()}`, results);
