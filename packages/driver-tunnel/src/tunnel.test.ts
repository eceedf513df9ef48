import { createHash } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { NetworkLayer } from "@userstack/link";
import { missing } from "@userstack/testkit";
import { toHex } from "@userstack/wire";
import { afterEach, describe, expect, it } from "vitest";
import { Collector, echoOf, LOOPBACK, segment, tunnelOn, until } from "../test/helpers.js";
import { createTunnel, Tunnel } from "./index.js";

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
async function tunnel(options: Parameters<typeof tunnelOn>[0] = {}) {
  const x = await tunnelOn(options);
  open.push(x.t);
  return x;
}

const digest = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const hex = (rs: { segment: Uint8Array }[]) => rs.map((r) => digest(r.segment));

describe("tunnel between two endpoints in one process", () => {
  it("carries segments both ways byte-exact and in order over one real connection", async () => {
    const b = await tunnel();
    const a = await tunnel({ peerPort: b.t.port });
    b.t.addRoute({ address: "127.0.0.1", port: a.t.port });
    const layer: NetworkLayer = a.t; // the tunnel is a network layer a stack can use
    const sizes = [20, 21, 100, 1460, 9000, 65515, 33, 40_000];
    const toB = Array.from({ length: 200 }, (_, i) => segment(40000, 80, i, sizes[i % sizes.length]! - 20));
    for (const s of toB) layer.send(LOOPBACK, 6, s);
    await b.rx.waitFor(toB.length);
    expect(hex(b.rx.got)).toEqual(toB.map(digest));
    expect(b.rx.got.every((r) => r.source === LOOPBACK)).toBe(true);
    // B answers on a new flow of its own (not an echo), reaching A through its route: still the
    // same real connection, since B knows A's listening port from A's hello.
    const toA = Array.from({ length: 50 }, (_, i) => segment(81, 50000, 1000 + i, (i * 997) % 3000));
    for (const s of toA) b.t.send(LOOPBACK, 6, s);
    await a.rx.waitFor(toA.length);
    expect(hex(a.rx.got)).toEqual(toA.map(digest));
    expect(a.t.stats).toMatchObject({ connectionsDialed: 1, connectionsAccepted: 0, segmentsSent: 200 });
    expect(b.t.stats).toMatchObject({ connectionsDialed: 0, connectionsAccepted: 1, segmentsReceived: 200 });
    expect(a.t.peers()).toEqual([
      expect.objectContaining({ endpoint: `127.0.0.1:${b.t.port}`, state: "open", dialed: true }),
    ]);
    expect(b.t.peers()).toEqual([
      expect.objectContaining({ endpoint: `127.0.0.1:${a.t.port}`, state: "open", dialed: false }),
    ]);
    expect(a.t.pathMtu(LOOPBACK)).toBe(65515);
  });

  it("serves many peers at once and answers each through the connection its flow came from", async () => {
    const hub = await tunnel();
    hub.t.attach(new Collector((src, s) => hub.t.send(src, 6, echoOf(s))));
    const spokes = await Promise.all(Array.from({ length: 8 }, () => tunnel({ peerPort: hub.t.port })));
    const sent = spokes.map((_, i) =>
      Array.from({ length: 40 }, (_, k) => segment(41000 + i, 7, k, 10 + i * 100 + k)),
    );
    spokes.forEach((sp, i) => {
      for (const s of sent[i]!) sp.t.send(LOOPBACK, 6, s);
    });
    await Promise.all(spokes.map((sp) => sp.rx.waitFor(40)));
    spokes.forEach((sp, i) => {
      expect(hex(sp.rx.got)).toEqual(sent[i]!.map((s) => digest(echoOf(s))));
    });
    expect(hub.t.stats.connectionsAccepted).toBe(8);
    expect(hub.t.stats.connectionsDialed).toBe(0);
    expect(
      hub.t
        .peers()
        .map((p) => p.endpoint)
        .sort(),
    ).toEqual(spokes.map((sp) => `127.0.0.1:${sp.t.port}`).sort());
  });

  it("keeps exactly one connection when both sides dial at once, and loses nothing sent meanwhile", async () => {
    for (let round = 0; round < 4; round++) {
      const a = await tunnel();
      const b = await tunnel({ peerPort: a.t.port });
      a.t.addRoute({ address: "127.0.0.1", port: b.t.port });
      const ab = Array.from({ length: 30 }, (_, i) => segment(1000, 2000, i, 500 + i));
      const ba = Array.from({ length: 30 }, (_, i) => segment(3000, 4000, i, 700 + i));
      // Same turn of the event loop: both dial before either accepts.
      for (let i = 0; i < 30; i++) {
        a.t.send(LOOPBACK, 6, ab[i]!);
        b.t.send(LOOPBACK, 6, ba[i]!);
      }
      await Promise.all([b.rx.waitFor(30), a.rx.waitFor(30)]);
      expect(hex(b.rx.got)).toEqual(ab.map(digest));
      expect(hex(a.rx.got)).toEqual(ba.map(digest));
      await until(() => a.t.openConnections === 1 && b.t.openConnections === 1, 5000, "one connection each");
      expect(a.t.stats.connectionsDialed + b.t.stats.connectionsDialed).toBe(2);
      expect(a.t.stats.duplicateConnections).toBe(1);
      expect(b.t.stats.duplicateConnections).toBe(1);
      // Both kept the same real connection: the one dialed towards the smaller listening port.
      const [pa] = a.t.peers();
      const [pb] = b.t.peers();
      expect(pa!.dialed).toBe(!pb!.dialed);
      expect(pa!.dialed).toBe(b.t.port < a.t.port);
      // And it carries traffic both ways afterwards.
      a.t.send(LOOPBACK, 6, segment(1000, 2000, 99, 5));
      b.t.send(LOOPBACK, 6, segment(3000, 4000, 99, 5));
      await Promise.all([b.rx.waitFor(31), a.rx.waitFor(31)]);
      await Promise.all([a.t.close(), b.t.close()]);
    }
  });

  it("reconnects after the real connection is destroyed mid-stream; what was in flight is just lost", async () => {
    const b = await tunnel();
    // A cuttable wire: a TCP relay between A and B that the test breaks once.
    const relaySockets = new Set<Socket>();
    const relay: Server = createServer((client) => {
      const upstream = connect({ host: "127.0.0.1", port: b.t.port });
      relaySockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const kill = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", kill).on("close", kill);
      upstream.on("error", kill).on("close", kill);
    });
    await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
    open.push({ close: () => new Promise((r) => relay.close(() => r())) });
    const relayPort = (relay.address() as { port: number }).port;
    const a = await tunnel({ peerPort: relayPort });
    const total = 3000;
    let cutAt = -1;
    for (let i = 0; i < total; i++) {
      a.t.send(LOOPBACK, 6, segment(5000, 6000, i, 1000));
      if (i === 1000) {
        await b.rx.waitFor(200);
        cutAt = i;
        for (const s of relaySockets) s.destroy();
        relaySockets.clear();
        await until(() => a.t.openConnections === 0, 5000, "A to see the cut");
      }
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await until(
      () => b.rx.got.some((r) => r.segment.length === 1020 && seqOf(r.segment) === total - 1),
      10_000,
      "the last segment",
    );
    const seqs = b.rx.got.map((r) => seqOf(r.segment));
    // In order, no duplicates, byte-exact; the segments after the cut arrived over a new connection.
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    for (const r of b.rx.got)
      expect(toHex(r.segment)).toBe(toHex(segment(5000, 6000, seqOf(r.segment), 1000)));
    expect(seqs.filter((s) => s > cutAt).length).toBe(total - 1 - cutAt);
    expect(a.t.stats.connectionsDialed).toBe(2);
    expect(a.t.stats.connectionsLost).toBe(1);
  });

  it("delivers segments a host sends to itself, asynchronously", async () => {
    const a = await tunnel();
    let inside = false;
    a.t.sendTo({ address: "127.0.0.1", port: a.t.port }, 6, segment(1, 2, 3, 4));
    inside = a.rx.got.length > 0;
    await a.rx.waitFor(1);
    expect(inside).toBe(false);
    expect(a.t.stats.connectionsDialed).toBe(0);
  });

  it("drops what it cannot carry and counts it: other protocols, oversize segments, bad checksums", async () => {
    const b = await tunnel();
    const a = await tunnel({ peerPort: b.t.port });
    a.t.send(LOOPBACK, 17, segment(1, 2, 0, 10));
    a.t.send(LOOPBACK, 6, new Uint8Array(65516));
    const bad = segment(1, 2, 0, 10);
    bad[25]! ^= 1;
    a.t.send(LOOPBACK, 6, bad);
    a.t.send(LOOPBACK, 6, segment(1, 2, 1, 10));
    await b.rx.waitFor(1);
    expect(a.t.stats.dropped).toMatchObject({ unsupportedProtocol: 1, oversize: 1 });
    expect(b.t.stats.dropped.badChecksum).toBe(1);
    expect(b.rx.got.length).toBe(1);
  });
});

describe("errors a newcomer meets", () => {
  it("says what to do when the port is in use", async () => {
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(0, "127.0.0.1", r));
    const port = (squatter.address() as { port: number }).port;
    try {
      const err = await createTunnel({ port, log: false }).catch((e: Error & { code?: string }) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error & { code?: string }).code).toBe("EADDRINUSE");
      expect((err as Error).message).toBe(
        `userstack tunnel: 127.0.0.1:${port} is already in use (EADDRINUSE) — another tunnel or a chitcpd is listening there; stop it, or pass { port } with a free port (0 picks one).`,
      );
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  });

  it("says when a peer is unreachable, once, and waits before retrying", async () => {
    const gone = createServer();
    await new Promise<void>((r) => gone.listen(0, "127.0.0.1", r));
    const port = (gone.address() as { port: number }).port;
    await new Promise((r) => gone.close(r)); // nothing listens there now
    const a = await tunnel({ peerPort: port, retryDelayMs: 60_000 });
    a.t.send(LOOPBACK, 6, segment(1, 2, 0, 10));
    await until(() => a.log.some((e) => e.code === "peer-unreachable"), 5000, "the warning");
    a.t.send(LOOPBACK, 6, segment(1, 2, 1, 10));
    a.t.send(LOOPBACK, 6, segment(1, 2, 2, 10));
    const warn = a.log.filter((e) => e.code === "peer-unreachable");
    expect(warn).toEqual([
      {
        level: "warn",
        code: "peer-unreachable",
        peer: `127.0.0.1:${port}`,
        message: `userstack tunnel: cannot reach the tunnel at 127.0.0.1:${port} (ECONNREFUSED) — nothing listens there; start the other host's tunnel on that port, or fix the route (routes / peerPort). Segments to it are lost until it answers.`,
      },
    ]);
    expect(a.t.stats.dropped.unreachable).toBe(2);
    expect(a.t.stats.connectionsDialed).toBe(1);
    expect(a.t.peers()[0]).toMatchObject({ state: "retry-wait", lastError: warn[0]!.message });
  });

  it("refuses an address that is not IPv4 with the fix", () => {
    expect(() => new Tunnel({ address: "localhost" })).toThrow(
      'userstack tunnel: address "localhost" is not an IPv4 address; write it dotted, like 127.0.0.1',
    );
  });

  it("listens on chiTCP's port 23300 by default", async () => {
    const t = await createTunnel({ log: false });
    open.push(t);
    expect(t.port).toBe(23300);
    expect(t.address).toBe("127.0.0.1");
  });
});

function seqOf(s: Uint8Array): number {
  return ((s[4]! << 24) | (s[5]! << 16) | (s[6]! << 8) | s[7]!) >>> 0;
}

describe("connect timeout and disconnect", () => {
  it.skipIf(missing({ tools: ["python3"] }))(
    "gives up on a peer that never answers after connectTimeoutMs and says so",
    async () => {
      // A listener whose accept queue is full and never drained: the kernel drops further SYNs, so
      // a connect neither succeeds nor fails — what an unreachable host looks like.
      const { spawn } = await import("node:child_process");
      const py = spawn(
        "python3",
        [
          "-c",
          "import socket,sys,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()",
        ],
        { stdio: ["pipe", "pipe", "inherit"] },
      );
      try {
        const port = await new Promise<number>((resolve) =>
          py.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString()))),
        );
        const fillers = [0, 1, 2].map(() => connect({ host: "127.0.0.1", port }).on("error", () => {}));
        await new Promise((r) => setTimeout(r, 50));
        const a = await tunnel({ peerPort: port, connectTimeoutMs: 300 });
        a.t.send(LOOPBACK, 6, segment(1, 2, 0, 10));
        await until(() => a.log.some((e) => e.code === "peer-unreachable"), 5000, "the timeout");
        expect(a.log.find((e) => e.code === "peer-unreachable")!.message).toBe(
          `userstack tunnel: the tunnel at 127.0.0.1:${port} did not answer within 300 ms (ETIMEDOUT) — check the address and any firewall between the hosts. Segments to it are lost until it answers.`,
        );
        for (const f of fillers) f.destroy();
      } finally {
        py.stdin!.end();
      }
    },
  );

  it("disconnect() cuts the connection like a failure; the next segment reconnects", async () => {
    const b = await tunnel();
    const a = await tunnel({ peerPort: b.t.port });
    a.t.send(LOOPBACK, 6, segment(1, 2, 0, 10));
    await b.rx.waitFor(1);
    expect(a.t.disconnect({ address: "127.0.0.1", port: b.t.port })).toBe(true);
    await until(() => a.t.openConnections === 0 && b.t.openConnections === 0, 5000, "both ends to close");
    a.t.send(LOOPBACK, 6, segment(1, 2, 1, 10));
    await b.rx.waitFor(2);
    expect(a.t.stats.connectionsDialed).toBe(2);
    expect(b.t.stats.connectionsAccepted).toBe(2);
    expect(a.t.disconnect({ address: "127.0.0.1", port: 1 })).toBe(false);
  });
});
