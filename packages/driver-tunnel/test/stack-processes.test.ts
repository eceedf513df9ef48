// Two whole userstack stacks in two processes, each using a tunnel on 127.0.0.1 (its own port) as
// its network layer: echo, node:http (http.request with createConnection) and undici (its connect
// option) byte-exact, 100 concurrent connections, a 64 MB transfer hashed at both ends, and a
// transfer that survives the tunnel's real TCP connection being cut mid-way. The peer process is
// test/stack-peer.ts; nothing leaves 127.0.0.1.
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import http from "node:http";
import { createStack, type Stack, type UserstackSocket } from "@userstack/sockets";
import { httpRequest } from "@userstack/testkit";
import { Client } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTunnel, type Tunnel } from "../src/index.js";
import { pattern, sha, stackPeer } from "./stack-helpers.js";

const HOST = "127.0.0.1";
let tunnel: Tunnel;
let stack: Stack;
let peer: { port: number; child: ChildProcess };

beforeAll(async () => {
  tunnel = await createTunnel({ address: HOST, port: 0, log: false });
  peer = await stackPeer(tunnel.port);
  tunnel.addRoute({ address: HOST, port: peer.port });
  stack = createStack({ network: tunnel });
});

afterAll(async () => {
  peer?.child.stdin?.end(); // the peer exits when its stdin closes
  await stack?.close();
});

function readAll(s: UserstackSocket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("end", () => resolve(Buffer.concat(chunks)));
    s.on("error", reject);
  });
}

/** Sends `data` to the peer's sink (port 9); resolves with what the sink says it received. */
async function toSink(
  data: Buffer | ((s: UserstackSocket) => Promise<void>),
): Promise<{ bytes: number; sha256: string }> {
  const s = stack.connect(9, HOST);
  const reply = readAll(s);
  await new Promise((resolve, reject) => s.once("connect", resolve).once("error", reject));
  if (typeof data === "function") await data(s);
  else s.end(data);
  return JSON.parse((await reply).toString());
}

describe("two stacks in two processes over tunnels on 127.0.0.1", () => {
  it("echo: 4 MB byte-exact through the Node face, and 1 MB through the BSD face", async () => {
    const data = pattern(4 * 1024 * 1024, 1);
    const s = stack.connect(7, HOST, () => s.end(data));
    const echoed = await readAll(s);
    expect(echoed.length).toBe(data.length);
    expect(sha(echoed)).toBe(sha(data));

    const b = stack.socket();
    await b.connect(HOST, 7);
    const small = pattern(1024 * 1024, 2);
    const sending = b.send(small).then(() => b.shutdown("write"));
    const got: Uint8Array[] = [];
    for (let m = await b.recv(); m.length > 0; m = await b.recv()) got.push(m);
    await sending;
    await b.close();
    expect(sha(Buffer.concat(got))).toBe(sha(small));
    expect(tunnel.stats.dropped.badChecksum).toBe(0);
  });

  it("HTTP: http.request with createConnection, and undici through its connect option, byte-exact", async () => {
    const agent = new http.Agent({ keepAlive: true });
    (agent as unknown as { createConnection: unknown }).createConnection = (o: {
      port: number;
      host: string;
    }) => stack.connect(o.port, o.host);
    const request = (method: string, path: string, body?: Buffer) =>
      httpRequest({ host: HOST, port: 80, method, path, agent }, body);
    const get = await request("GET", "/bytes/3000000");
    expect(get.status).toBe(200);
    expect(get.body.length).toBe(3_000_000);
    expect(sha(get.body)).toBe(get.headers["x-sha256"]);
    expect(sha(get.body)).toBe(sha(pattern(3_000_000, 80)));
    const upload = pattern(5_000_000, 3);
    const post = await request("POST", "/sink", upload);
    expect(JSON.parse(post.body.toString())).toEqual({ bytes: upload.length, sha256: sha(upload) });
    agent.destroy();

    const undici = new Client(`http://${HOST}:80`, {
      connect: (opts, cb) => {
        // The URL names the default port, so undici passes "" for it.
        const s = stack.connect(Number(opts.port) || 80, opts.hostname);
        s.once("connect", () => cb(null, s as never));
        s.once("error", (e) => cb(e, null));
      },
    });
    const res = await undici.request({ path: "/bytes/4000000", method: "GET" });
    const body = Buffer.from(await res.body.arrayBuffer());
    expect(res.statusCode).toBe(200);
    expect(sha(body)).toBe(sha(pattern(4_000_000, 80)));
    const up = pattern(3_000_000, 4);
    const res2 = await undici.request({ path: "/sink", method: "POST", body: up });
    expect(await res2.body.json()).toEqual({ bytes: up.length, sha256: sha(up) });
    await undici.close();
  });

  it("100 concurrent connections, each echoed byte-exact", async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => {
        const data = pattern(30_000 + i * 311, 100 + i);
        const s = stack.connect(7, HOST, () => s.end(data));
        return readAll(s).then((got) => ({ ok: sha(got) === sha(data), port: s.localPort }));
      }),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(100);
    expect(new Set(results.map((r) => r.port)).size).toBe(100);
    expect(tunnel.openConnections).toBe(1); // all of it over one real connection
  });

  it("64 MB to the peer, SHA-256 equal at both ends", async () => {
    const size = 64 * 1024 * 1024;
    const sent = createHash("sha256");
    const reply = await toSink(async (s) => {
      const chunk = 1024 * 1024;
      for (let i = 0; i < size / chunk; i++) {
        const block = pattern(chunk, 1000 + i);
        sent.update(block);
        if (!s.write(block)) await new Promise((resolve) => s.once("drain", resolve));
      }
      s.end();
    });
    expect(reply).toEqual({ bytes: size, sha256: sent.digest("hex") });
  });

  it("a transfer arrives byte-exact across the tunnel connection being cut and re-established mid-way", async () => {
    const lostBefore = tunnel.stats.connectionsLost;
    const size = 24 * 1024 * 1024;
    const data = pattern(size, 7);
    let cut = false;
    let retransmits = 0;
    const reply = await toSink(async (s) => {
      s.write(data);
      s.end();
      // Once a quarter is acknowledged, cut the real TCP connection under the stream, as a failing
      // network would: what was in flight in it is lost, and TCP above has to repair that.
      while (!cut) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        const info = s.tcpInfo();
        if (info === undefined) break;
        if (info.bytesAcked > size / 4) cut = tunnel.disconnect({ address: HOST, port: peer.port });
      }
      await new Promise((resolve) => s.once("finish", resolve));
      retransmits = s.tcpInfo()?.retransmits ?? 0;
    });
    expect(cut).toBe(true);
    expect(reply).toEqual({ bytes: size, sha256: sha(data) });
    expect(tunnel.stats.connectionsLost).toBeGreaterThan(lostBefore);
    expect(tunnel.openConnections).toBe(1); // re-established
    expect(retransmits).toBeGreaterThan(0);
  });
});
