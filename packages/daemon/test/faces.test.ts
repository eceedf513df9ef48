// The three socket faces of @userstack/sockets, unchanged, over a stack in a daemon: the client
// library implements SocketHost/Endpoint remotely. Daemon and clients share this process here (the
// multi-process cases are in processes.test.ts); the UNIX socket between them is real.
import type { AddressInfo } from "node:net";
import type { UserstackSocket } from "@userstack/sockets";
import { afterEach, describe, expect, it } from "vitest";
import { connectDaemon, type DaemonStats, type RemoteStack } from "../src/index.js";
import { collect, memoryDaemon, pattern, sha, until } from "./helpers.js";

const open: { close(): Promise<void> }[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const c of cleanups.splice(0)) await c();
});

async function setup(
  extra: Parameters<typeof memoryDaemon>[0] = {},
): Promise<{ a: RemoteStack; b: RemoteStack; stats: () => DaemonStats }> {
  const { daemon, cleanup } = await memoryDaemon(extra);
  cleanups.push(cleanup);
  const a = await connectDaemon(daemon.path);
  const b = await connectDaemon(daemon.path);
  open.push(a, b);
  return { a, b, stats: () => daemon.stats() };
}

describe("the Node face through the daemon", () => {
  it("echoes 8 MB byte-exact between two clients, on a port the daemon picked (listen(0))", async () => {
    const { a, b } = await setup();
    const server = a.createServer((s) => s.pipe(s));
    await new Promise<void>((resolve, reject) => server.listen(0, resolve).once("error", reject));
    const { port } = server.address() as AddressInfo;
    expect(port).toBeGreaterThanOrEqual(32768);
    const data = pattern(8 * 1024 * 1024, 1);
    const c = b.connect(port, "10.0.0.1", () => c.end(data));
    const echoed = await collect(c);
    expect(echoed.length).toBe(data.length);
    expect(sha(echoed)).toBe(sha(data));
    expect(c.remotePort).toBe(port);
    expect(c.localAddress).toBe("10.0.0.1");
    expect(c.localPort).toBeGreaterThanOrEqual(32768);
  });

  it("reports EADDRINUSE from the daemon as the server's 'error', and ECONNREFUSED on connect", async () => {
    const { a, b } = await setup();
    const first = a.createServer();
    await new Promise<void>((resolve) => first.listen(7000, resolve));
    const second = b.createServer();
    const err = await new Promise<Error & { code?: string }>((resolve) => {
      second.once("error", resolve);
      second.once("listening", () => resolve(new Error("listened twice")));
      second.listen(7000);
    });
    expect(err.code).toBe("EADDRINUSE");
    expect(err.message).toBe("listen EADDRINUSE 0.0.0.0:7000 (address already in use)");
    expect(second.listening).toBe(false);

    const refused = await new Promise<Error & { code?: string }>((resolve) => {
      const c = b.connect(7001, "10.0.0.1");
      c.once("error", resolve);
      c.once("connect", () => resolve(new Error("connected")));
    });
    expect(refused.code).toBe("ECONNREFUSED");
    expect(refused.message).toBe("connect ECONNREFUSED 10.0.0.1:7001 (connection refused)");
  });

  it("keeps the daemon's buffers bounded when the reader stops: its TCP window closes, then reopens", async () => {
    // Buffers of 256 KiB (the defaults are larger), so that 6 MiB outgrows everything in the path.
    const KIB256 = 256 * 1024;
    const { a, b, stats } = await setup({ tcp: { receiveBufferSize: KIB256, sendBufferSize: KIB256 } });
    let serverSide: UserstackSocket | undefined;
    const received: Buffer[] = [];
    const server = a.createServer((s) => {
      serverSide = s;
      s.pause(); // the application stops reading
      s.on("data", (d: Buffer) => received.push(d));
    });
    await new Promise<void>((resolve) => server.listen(7100, resolve));
    const data = pattern(6 * 1024 * 1024, 7);
    const c = b.connect(7100, "10.0.0.1");
    const closed = new Promise((resolve, reject) => c.once("close", resolve).once("error", reject));
    closed.catch(() => {}); // a failure shows in the assertions; the teardown's reset is not one
    c.resume(); // the server sends nothing, but its FIN must be read for 'close'
    c.write(data);
    c.end();
    const row = () => stats().connections.find((r) => r.localPort === 7100);
    await until(() => row()?.receiveWindow === 0, 10_000, "the reader's TCP window to close");
    // The daemon reads only what the client granted: exactly its read window (the receive buffer
    // size) was pushed to it; TCP's receive buffer is full too (up to the window scale's
    // granularity), and the writer's side holds the remainder.
    const r = row()!;
    expect(r.bytesIn - r.receiveQueued).toBe(KIB256);
    expect(r.receiveQueued).toBeGreaterThan(KIB256 - 1024);
    await new Promise((r) => setTimeout(r, 100));
    expect(row()!.receiveWindow).toBe(0);
    expect(c.writableLength).toBeGreaterThan(4 * 1024 * 1024);
    serverSide!.resume();
    await until(() => received.reduce((n, d) => n + d.length, 0) === data.length, 20_000, "all bytes");
    expect(sha(Buffer.concat(received))).toBe(sha(data));
    await closed;
  });
});

describe("socket timers through the daemon", () => {
  it("runs a socket's idle timeout on the client's own timer queue", async () => {
    const { a, b } = await setup();
    const server = a.createServer((s) => s.resume());
    await new Promise<void>((resolve) => server.listen(7050, resolve));
    const c = b.connect(7050, "10.0.0.1");
    await new Promise((resolve) => c.once("connect", resolve));
    const t0 = performance.now();
    c.setTimeout(80);
    await new Promise((resolve) => c.once("timeout", resolve));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(79);
    c.destroy();
  });
});

describe("the BSD face through the daemon", () => {
  it("echoes with blocking send/recv, getsockname/getpeername and shutdown", async () => {
    const { a, b } = await setup();
    const l = a.socket();
    await l.bind(0);
    await l.listen();
    const port = l.localAddress().port;
    expect(port).toBeGreaterThan(0);
    const served = (async () => {
      const c = await l.accept();
      for (let m = await c.recv(); m.length > 0; m = await c.recv()) await c.send(m);
      await c.close();
    })();
    const s = b.socket();
    await s.connect("10.0.0.1", port);
    expect(s.remoteAddress()).toEqual({ address: "10.0.0.1", port });
    expect(s.localAddress().port).toBeGreaterThanOrEqual(32768);
    const data = pattern(1_000_000, 3);
    await s.send(data);
    await s.shutdown("write");
    const got: Uint8Array[] = [];
    for (let m = await s.recv(); m.length > 0; m = await s.recv()) got.push(m);
    await s.close();
    await served;
    expect(sha(Buffer.concat(got))).toBe(sha(data));
    await l.close();
  });

  it("rejects listen() with EADDRINUSE and connect() with ECONNREFUSED", async () => {
    const { a, b } = await setup();
    const l = a.socket();
    await l.bind(7200);
    await l.listen();
    const l2 = b.socket();
    await l2.bind(7200);
    await expect(l2.listen()).rejects.toMatchObject({ code: "EADDRINUSE" });
    const s = b.socket();
    await expect(s.connect("10.0.0.1", 7201)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});

describe("the WHATWG streams face through the daemon", () => {
  it("opens, listens and echoes 2 MB", async () => {
    const { a, b } = await setup();
    const listener = a.listenStream({ port: 7300 });
    void (async () => {
      for await (const conn of listener.connections) {
        await conn.readable.pipeTo(conn.writable);
      }
    })();
    const conn = b.openStream({ host: "10.0.0.1", port: 7300 });
    const info = await conn.opened;
    expect(info.remote).toEqual({ address: "10.0.0.1", port: 7300 });
    const data = pattern(2 * 1024 * 1024, 5);
    const w = conn.writable.getWriter();
    const writing = (async () => {
      for (let i = 0; i < data.length; i += 100_000) await w.write(data.subarray(i, i + 100_000));
      await w.close();
    })();
    const got: Uint8Array[] = [];
    for await (const chunk of conn.readable) got.push(chunk);
    await writing;
    expect(sha(Buffer.concat(got))).toBe(sha(data));
    await listener.close();
  });
});
