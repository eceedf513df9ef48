// Who goes away, and what the others see: a client that leaves has its sockets reset by the daemon
// (as the kernel releases a dead process's descriptors); a daemon that goes away fails every
// client socket with ECONNRESET. (The same with real processes killed by SIGKILL is in
// processes.test.ts.)
import { type AddressInfo, connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { connectDaemon, RemoteStack, SocketTransport } from "../src/index.js";
import { memoryDaemon, until } from "./helpers.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const { daemon, cleanup } = await memoryDaemon();
  cleanups.push(cleanup);
  const server = await connectDaemon(daemon.path);
  // Built by hand so that a test can cut its UNIX socket as a process's death would.
  const raw: Socket = connect({ path: daemon.path });
  await new Promise((resolve) => raw.once("connect", resolve));
  const client = await new RemoteStack(new SocketTransport(raw), "the test daemon").handshake(5000);
  cleanups.push(
    () => server.close(),
    () => client.close(),
  );
  return { daemon, server, client, raw };
}

function echoServer(stack: RemoteStack, errors: string[] = []): Promise<number> {
  const srv = stack.createServer((s) => {
    s.on("error", (e: Error & { code?: string }) => errors.push(e.code ?? e.message));
    s.pipe(s);
  });
  srv.on("error", (e: Error & { code?: string }) => errors.push(`server ${e.code}`));
  return new Promise((resolve) => srv.listen(0, () => resolve((srv.address() as AddressInfo).port)));
}

describe("a client that goes away", () => {
  it("has its connections reset and its listeners closed by the daemon when its channel is cut", async () => {
    const { daemon, server, client, raw } = await setup();
    const serverErrors: string[] = [];
    const port = await echoServer(server, serverErrors);
    const sockets = Array.from({ length: 3 }, () => {
      const c = client.connect(port, "10.0.0.1");
      c.on("error", () => {});
      return c;
    });
    // One connection the client already closed properly: its end is in TIME-WAIT.
    const finished = client.connect(port, "10.0.0.1", () => finished.end("bye"));
    finished.resume();
    await new Promise((resolve) => finished.once("close", resolve));
    const listener = client.createServer();
    const listenerError = new Promise<Error & { code?: string }>((resolve) =>
      listener.once("error", resolve),
    );
    await new Promise<void>((resolve) => listener.listen(7400, resolve));
    await Promise.all(
      sockets.map(
        (c) => new Promise((resolve) => (c.readyState === "open" ? resolve(0) : c.once("connect", resolve))),
      ),
    );
    await until(
      () => daemon.stats().connections.filter((r) => r.state === "ESTABLISHED").length === 6,
      5000,
      "6 connection ends",
    );
    raw.destroy(); // no goodbye, no close(): what the daemon sees when a client process dies
    // The three server-side sockets saw the resets.
    await until(() => serverErrors.length === 3, 5000, "the resets");
    expect(serverErrors).toEqual(["ECONNRESET", "ECONNRESET", "ECONNRESET"]);
    const stats = daemon.stats();
    expect(stats.sessions).toHaveLength(1);
    expect(stats.counters.socketsReleased).toBe(3);
    // TIME-WAIT outlives the process, as in the kernel; everything else is gone.
    expect(stats.connections.map((r) => r.state)).toEqual(["TIME-WAIT"]);
    // Its listening port is free again.
    const again = server.createServer();
    await new Promise<void>((resolve, reject) => again.listen(7400, resolve).once("error", reject));
    // The client's own sockets and server learnt it too (its channel to the daemon is gone).
    await until(() => sockets.every((c) => c.destroyed), 5000, "the client's sockets to fail");
    expect((await listenerError).code).toBe("ECONNRESET");
    expect(client.isClosed).toBe(true);
  });

  it("resets its connections itself when it closes its stack (as Stack.close() does)", async () => {
    const { daemon, server, client } = await setup();
    const serverErrors: string[] = [];
    const port = await echoServer(server, serverErrors);
    const c = client.connect(port, "10.0.0.1");
    const closed = new Promise((resolve) => c.once("close", resolve));
    c.resume();
    await new Promise((resolve) => c.once("connect", resolve));
    await client.close();
    await closed;
    await until(() => serverErrors.length === 1, 5000, "the reset");
    expect(serverErrors).toEqual(["ECONNRESET"]);
    expect(daemon.stats().counters.socketsReleased).toBe(0); // the client did it, not the daemon
    expect(daemon.stats().connections).toHaveLength(0);
  });
});

describe("a daemon that goes away", () => {
  it("fails every client socket with ECONNRESET, and says so to the faces and the stack", async () => {
    const { daemon, server, client } = await setup();
    const serverErrors: string[] = [];
    const port = await echoServer(server, serverErrors);
    const c = client.connect(port, "10.0.0.1");
    await new Promise((resolve) => c.once("connect", resolve));
    const nodeError = new Promise<Error & { code?: string }>((resolve) => c.once("error", resolve));
    const bsdListener = server.socket();
    await bsdListener.bind(7500);
    await bsdListener.listen();
    const accepting = bsdListener.accept().catch((e: Error & { code?: string }) => e);
    const bsd = client.socket();
    await bsd.connect("10.0.0.1", port);
    const receiving = bsd.recv().catch((e: Error & { code?: string }) => e);
    const disconnected = new Promise<Error>((resolve) => client.once("disconnect", resolve));

    await daemon.close();

    expect((await nodeError).code).toBe("ECONNRESET");
    expect((await nodeError).message).toBe(`read ECONNRESET 10.0.0.1:${port} (connection reset by peer)`);
    expect(await receiving).toMatchObject({ code: "ECONNRESET" });
    expect(await accepting).toMatchObject({ code: "ECONNRESET" });
    expect((await disconnected).message).toBe("userstack: the test daemon shut down");
    await until(() => serverErrors.includes("server ECONNRESET"), 5000, "the server's error");
    expect(client.isClosed).toBe(true);
    // New calls fail at once, with the same code.
    expect(() => client.open({ remoteAddress: 1, remotePort: 1 })).toThrow(/ECONNRESET/);
    await expect(client.stats()).rejects.toThrow(/shut down/);
  });
});
