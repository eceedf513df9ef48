// The segment recorder between two real stacks in virtual time: what it records is what TCP sent
// (relative sequence numbers, the handshake, the data, both FINs), bounded per connection and in
// connections, and a retransmission under loss is marked as one.
import { type Link, memoryPair, VirtualClock, withFaults } from "@userstack/link";
import { createStack, type Stack } from "@userstack/sockets";
import { describe, expect, it } from "vitest";
import { SegmentRecorder } from "../src/index.js";

async function until(clock: VirtualClock, done: () => boolean, maxMs = 120_000): Promise<void> {
  const start = clock.now();
  while (!done()) {
    if (clock.now() - start > maxMs) throw new Error("not done in time");
    clock.advance(5);
    await new Promise((r) => setImmediate(r));
  }
}

function network(options: { drop?: number; head?: number; maxConnections?: number } = {}) {
  const clock = new VirtualClock();
  const [a, b] = memoryPair({ medium: "ip", mtu: 1500, clock, latencyMs: 1 });
  const recorder = new SegmentRecorder(clock, { head: options.head, maxConnections: options.maxConnections });
  const lossy = (l: Link) => (options.drop ? withFaults(l, { seed: 3, drop: options.drop, clock }) : l);
  const server = createStack({ link: recorder.wrapLink(lossy(a)), ipv4: "10.0.0.1/24", clock });
  const client = createStack({ link: lossy(b), ipv4: "10.0.0.2/24", clock });
  return { clock, recorder, server, client };
}

/** The client sends `n` bytes to the server's sink on port 9 and both close. */
async function transfer(clock: VirtualClock, server: Stack, client: Stack, n: number): Promise<number> {
  const l = server.socket();
  await l.bind(9).then(() => l.listen());
  let received = 0;
  let done = false;
  void l.accept().then(async (c) => {
    for (let b = await c.recv(); b.length > 0; b = await c.recv()) received += b.length;
    await c.close();
    done = true;
  });
  const s = client.socket();
  let connected = false;
  const connecting = s.connect("10.0.0.1", 9).then(() => (connected = true));
  await until(clock, () => connected);
  await connecting;
  const port = s.localAddress().port;
  const sending = s.send(new Uint8Array(n).fill(7)).then(() => s.shutdown("write"));
  await until(clock, () => done);
  expect(received).toBe(n);
  await sending;
  await s.close();
  await until(
    clock,
    () =>
      server.stats().every((c) => c.state === "TIME-WAIT") &&
      client.stats().every((c) => c.state === "TIME-WAIT"),
  );
  await l.close();
  return port;
}

describe("SegmentRecorder", () => {
  it("records the handshake, the first data and both FINs, with relative sequence numbers", async () => {
    const { clock, recorder, server, client } = network();
    const port = await transfer(clock, server, client, 100_000);
    const trace = recorder.trace(`10.0.0.1:9-10.0.0.2:${port}`)!;
    expect(trace.fromSyn).toBe(true);
    const h = trace.head;
    expect(h.slice(0, 3).map((s) => [s.dir, s.flags.join(" "), s.seq, s.ack])).toEqual([
      ["in", "SYN", 0, 0],
      ["out", "SYN ACK", 0, 1],
      ["in", "ACK", 1, 1],
    ]);
    expect(h[0]!.options).toMatch(/^mss 1460, sackOK, TS, wscale \d+$|^mss 1460/);
    // The data starts at relative sequence 1 and follows on without holes in the recorded head.
    const data = h.filter((s) => s.dir === "in" && s.len > 0);
    expect(data[0]!.seq).toBe(1);
    for (let i = 1; i < data.length; i++) expect(data[i]!.seq).toBe(data[i - 1]!.seq + data[i - 1]!.len);
    expect(h).toHaveLength(24);
    // The end: the client's FIN after all 100 000 bytes, the server's FIN, and their ACKs.
    const fins = trace.tail.filter((s) => s.flags.includes("FIN"));
    // (The client's FIN rides on its last data segment: its end is byte 100 000 + the FIN.)
    expect(fins.map((s) => [s.dir, s.seq + s.len])).toEqual([
      ["in", 100_001],
      ["out", 1],
    ]);
    expect(trace.tail.at(-1)!.flags).toEqual(["ACK"]);
    expect(trace.tail.at(-1)!.ack).toBe(2);
    expect(trace.skipped).toBeGreaterThan(50);
    expect(h.some((s) => s.retransmission)).toBe(false);
    await client.close();
    await server.close();
  });

  it("marks retransmitted data under 5% loss", async () => {
    const { clock, recorder, server, client } = network({ drop: 0.05, head: 400 });
    const port = await transfer(clock, server, client, 200_000);
    const trace = recorder.trace(`10.0.0.1:9-10.0.0.2:${port}`)!;
    const again = trace.head.filter((s) => s.retransmission);
    expect(again.length).toBeGreaterThan(0);
    expect(again.every((s) => s.dir === "in" && s.len > 0)).toBe(true);
    await client.close();
    await server.close();
  });

  it("remembers at most maxConnections, forgetting the oldest", async () => {
    const { clock, recorder, server, client } = network({ maxConnections: 3 });
    const ports: number[] = [];
    for (let i = 0; i < 5; i++) ports.push(await transfer(clock, server, client, 1000));
    expect(recorder.ids()).toEqual(ports.slice(2).map((p) => `10.0.0.1:9-10.0.0.2:${p}`));
    await client.close();
    await server.close();
  });
});
