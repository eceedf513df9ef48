import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import tls from "node:tls";
import { memoryPair } from "@userstack/link";
import { Client } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { createStack, type Stack } from "../src/index.js";

// node:http, undici and tls running unmodified on userstack sockets, between two stacks joined by
// an in-memory link.

let stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.map((s) => s.close()));
  stacks = [];
});

function pair(): [Stack, Stack] {
  const [a, b] = memoryPair({ medium: "ip", mtu: 1500 });
  const server = createStack({ link: a, ipv4: "10.0.0.1/24" });
  const client = createStack({ link: b, ipv4: "10.0.0.2/24" });
  stacks.push(server, client);
  return [server, client];
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** An unmodified node:http server fed with userstack connections. */
function httpServerOn(stack: Stack, port: number): http.Server {
  const app = http.createServer((req, res) => {
    if (req.method === "GET" && req.url?.startsWith("/bytes/")) {
      const n = Number(req.url.slice(7));
      const body = Buffer.alloc(n);
      for (let i = 0; i < n; i++) body[i] = (i * 31 + 7) & 255;
      res.writeHead(200, { "content-length": n, "x-sha256": sha(body) });
      res.end(body);
      return;
    }
    if (req.method === "POST" && req.url === "/sink") {
      const h = createHash("sha256");
      let count = 0;
      req.on("data", (d: Buffer) => {
        h.update(d);
        count += d.length;
      });
      req.on("end", () => res.end(JSON.stringify({ count, sha256: h.digest("hex") })));
      return;
    }
    res.writeHead(404).end();
  });
  stack.createServer((socket) => app.emit("connection", socket)).listen(port);
  return app;
}

describe("node:http server on a userstack stack", () => {
  it("serves http.request clients using createConnection: GET and POST of several MB", async () => {
    const [server, client] = pair();
    httpServerOn(server, 80);
    const agent = new http.Agent({ keepAlive: true });
    (agent as unknown as { createConnection: unknown }).createConnection = (o: {
      port: number;
      host: string;
    }) => client.connect(o.port, o.host);
    const get = await new Promise<{ status: number; body: Buffer; sha: string }>((resolve, reject) => {
      http
        .get({ host: "10.0.0.1", port: 80, path: "/bytes/3000000", agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (d: Buffer) => chunks.push(d));
          res.on("end", () =>
            resolve({
              status: res.statusCode!,
              body: Buffer.concat(chunks),
              sha: String(res.headers["x-sha256"]),
            }),
          );
        })
        .on("error", reject);
    });
    expect(get.status).toBe(200);
    expect(get.body.length).toBe(3_000_000);
    expect(sha(get.body)).toBe(get.sha);

    const upload = randomBytes(5_000_000);
    const post = await new Promise<{ count: number; sha256: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: "10.0.0.1",
          port: 80,
          path: "/sink",
          method: "POST",
          agent,
          headers: { "content-length": upload.length },
        },
        (res) => {
          let text = "";
          res.on("data", (d) => (text += d));
          res.on("end", () => resolve(JSON.parse(text)));
        },
      );
      req.on("error", reject);
      req.end(upload);
    });
    expect(post).toEqual({ count: upload.length, sha256: sha(upload) });
    agent.destroy();
  });

  it("serves an undici client through its connect option", async () => {
    const [server, client] = pair();
    httpServerOn(server, 8080);
    const undici = new Client("http://10.0.0.1:8080", {
      connect: (opts, cb) => {
        const s = client.connect(Number(opts.port), opts.hostname);
        s.once("connect", () => cb(null, s as never));
        s.once("error", (e) => cb(e, null));
      },
    });
    const res = await undici.request({ path: "/bytes/4000000", method: "GET" });
    const body = Buffer.from(await res.body.arrayBuffer());
    expect(res.statusCode).toBe(200);
    expect(body.length).toBe(4_000_000);
    expect(sha(body)).toBe(res.headers["x-sha256"]);
    const upload = randomBytes(3_000_000);
    const res2 = await undici.request({ path: "/sink", method: "POST", body: upload });
    expect(await res2.body.json()).toEqual({ count: upload.length, sha256: sha(upload) });
    // Keep-alive: both requests went over one connection.
    expect(server.stats().filter((c) => c.localPort === 8080)).toHaveLength(1);
    await undici.close();
  });
});

describe("tls over a userstack socket", () => {
  it("completes a TLS handshake and echoes through it", async () => {
    const [server, client] = pair();
    const key = readFileSync(new URL("./fixtures/tls-key.pem", import.meta.url));
    const cert = readFileSync(new URL("./fixtures/tls-cert.pem", import.meta.url));
    server
      .createServer((socket) => {
        const t = new tls.TLSSocket(socket, { isServer: true, key, cert });
        t.pipe(t);
      })
      .listen(443);
    const raw = client.connect(443, "10.0.0.1");
    const secure = tls.connect({ socket: raw, ca: cert, servername: "userstack.test" });
    await new Promise((r, j) => secure.once("secureConnect", r).once("error", j));
    expect(secure.authorized).toBe(true);
    const payload = randomBytes(200_000);
    const got: Buffer[] = [];
    secure.on("data", (d: Buffer) => got.push(d));
    secure.write(payload);
    await new Promise<void>((resolve) => {
      const check = () => (Buffer.concat(got).length >= payload.length ? resolve() : setTimeout(check, 5));
      check();
    });
    expect(sha(Buffer.concat(got))).toBe(sha(payload));
    secure.destroy();
  });
});
