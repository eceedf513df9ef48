import { createHash, randomBytes } from "node:crypto";
import { memoryPair, VirtualClock } from "@userstack/link";
import { afterEach, describe, expect, it } from "vitest";
import { createStack, SocketError, type Stack } from "../src/index.js";

let stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.map((s) => s.close()));
  stacks = [];
});

function pair(opts: { clock?: VirtualClock } = {}): [Stack, Stack] {
  const [a, b] = memoryPair({ medium: "ip", mtu: 1500, clock: opts.clock });
  const server = createStack({ link: a, ipv4: "10.0.0.1/24", clock: opts.clock });
  const client = createStack({ link: b, ipv4: "10.0.0.2/24", clock: opts.clock });
  stacks.push(server, client);
  return [server, client];
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("BSD face", () => {
  it("runs the classic echo server and client, with partial reads", async () => {
    const [server, client] = pair();
    const listening = server.socket();
    await listening.bind(7);
    await listening.listen();
    void (async () => {
      const c = await listening.accept();
      for (let b = await c.recv(100); b.length > 0; b = await c.recv(100)) await c.send(b);
      await c.close();
    })();
    const s = client.socket();
    await s.connect("10.0.0.1", 7);
    expect(s.remoteAddress()).toEqual({ address: "10.0.0.1", port: 7 });
    expect(s.localAddress().address).toBe("10.0.0.2");
    const word = randomBytes(5000);
    await s.send(word);
    await s.shutdown("write");
    const got: Uint8Array[] = [];
    for (let b = await s.recv(); b.length > 0; b = await s.recv()) got.push(b);
    expect(sha(Buffer.concat(got))).toBe(sha(word));
    await s.close();
    await listening.close();
  });

  it("fails connect with ECONNREFUSED on a closed port, and bind/listen twice with EADDRINUSE", async () => {
    const [server, client] = pair();
    const s = client.socket();
    const err = await s.connect("10.0.0.1", 9999).catch((e: SocketError) => e);
    expect(err).toBeInstanceOf(SocketError);
    expect((err as SocketError).code).toBe("ECONNREFUSED");
    expect((err as SocketError).message).toBe("connect ECONNREFUSED 10.0.0.1:9999 (connection refused)");
    const a = server.socket();
    await a.bind(80);
    await a.listen();
    const b = server.socket();
    await b.bind(80);
    await expect(b.listen()).rejects.toMatchObject({ code: "EADDRINUSE" });
    await expect(s.send(new Uint8Array(1))).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("blocks send() while the peer does not read, and resumes when it does", async () => {
    const [server, client] = pair();
    const l = server.socket();
    await l.bind(5000);
    await l.listen();
    const accepted = l.accept();
    const s = client.socket();
    await s.connect("10.0.0.1", 5000);
    const peer = await accepted;
    const big = randomBytes(8 << 20); // far more than the send buffer and the peer's window together
    let sent = false;
    const sending = s.send(big).then((n) => {
      sent = true;
      return n;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(sent).toBe(false);
    expect(client.stats()[0]!.sendQueued).toBeGreaterThan(0);
    const got: Uint8Array[] = [];
    let total = 0;
    while (total < big.length) {
      const b = await peer.recv();
      got.push(b);
      total += b.length;
    }
    expect(await sending).toBe(big.length);
    expect(sha(Buffer.concat(got))).toBe(sha(big));
  });
});

describe("WHATWG streams face", () => {
  it("pipes through readable/writable with backpressure and closes cleanly", async () => {
    const [server, client] = pair();
    const { connections } = server.listenStream({ port: 9000 });
    void (async () => {
      for await (const conn of connections as unknown as AsyncIterable<{
        readable: ReadableStream;
        writable: WritableStream;
      }>) {
        void conn.readable.pipeTo(conn.writable);
      }
    })();
    const conn = client.openStream({ host: "10.0.0.1", port: 9000 });
    const info = await conn.opened;
    expect(info.remote).toEqual({ address: "10.0.0.1", port: 9000 });
    const payload = randomBytes(1_000_000);
    const writer = conn.writable.getWriter();
    const writing = (async () => {
      for (let at = 0; at < payload.length; at += 65536) await writer.write(payload.subarray(at, at + 65536));
      await writer.close();
    })();
    const chunks: Uint8Array[] = [];
    for await (const c of conn.readable as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
    await writing;
    expect(sha(Buffer.concat(chunks))).toBe(sha(payload));
    await conn.closed;
  });
});

describe("Node face errors and events, in virtual time", () => {
  it("reports ECONNREFUSED as an error event with Node's shape", async () => {
    const [, client] = pair();
    const sock = client.connect(81, "10.0.0.1");
    const err = await new Promise<NodeJS.ErrnoException>((r) => sock.once("error", r));
    expect(err.code).toBe("ECONNREFUSED");
    expect(err.errno).toBe(-111);
    expect(err.syscall).toBe("connect");
  });

  it("reports ENETUNREACH for an off-link address without a gateway, EADDRINUSE on a second listen", async () => {
    const [server, client] = pair();
    const sock = client.connect(80, "192.168.7.7");
    const err = await new Promise<NodeJS.ErrnoException>((r) => sock.once("error", r));
    expect(err.code).toBe("ENETUNREACH");
    server.createServer().listen(80);
    const second = server.createServer().listen(80);
    const e2 = await new Promise<NodeJS.ErrnoException>((r) => second.once("error", r));
    expect(e2.code).toBe("EADDRINUSE");
  });

  it("times a connect to a silent peer out with ETIMEDOUT after the SYN retries, in virtual time", async () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ medium: "ip", mtu: 1500, clock });
    await a.close(); // nobody answers
    const client = createStack({ link: b, ipv4: "10.0.0.2/24", clock });
    stacks.push(client);
    const sock = client.connect({ port: 80, host: "10.0.0.1", tcp: { synRetries: 3 } });
    let err: NodeJS.ErrnoException | undefined;
    sock.once("error", (e) => (err = e));
    // 1 + 2 + 4 + 8 s of backoff (RFC 6298 (5.5)) with three retries.
    for (let i = 0; i < 20 && err === undefined; i++) {
      clock.advance(1000);
      await new Promise((r) => setImmediate(r));
    }
    expect(err?.code).toBe("ETIMEDOUT");
    expect(clock.now()).toBeGreaterThanOrEqual(15_000);
    expect(clock.now()).toBeLessThanOrEqual(16_000);
  });

  it("emits 'timeout' after setTimeout's idle period and refuses writes after end", async () => {
    const [server, client] = pair();
    server.createServer(() => {}).listen(22);
    const sock = client.connect(22, "10.0.0.1");
    await new Promise((r) => sock.once("connect", r));
    const t0 = performance.now();
    sock.setTimeout(50);
    await new Promise((r) => sock.once("timeout", r));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    expect(sock.remoteAddress).toBe("10.0.0.1");
    expect(sock.remotePort).toBe(22);
    expect(sock.address()).toMatchObject({ address: "10.0.0.2", family: "IPv4" });
    sock.end();
    sock.on("error", () => {}); // the stream also emits the write error
    const err = await new Promise<Error & { code?: string }>((r) => {
      sock.write("late", (e) => r(e as Error));
    });
    expect(err.code).toBe("ERR_STREAM_WRITE_AFTER_END");
  });
});
