// The "kernel thread" model: a stack and its timers in a worker_thread, the sockets in the main
// thread, the daemon protocol between them over a MessagePort (batches transferred, not copied).
// The same client library and faces as with userstackd.
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { httpRequest } from "@userstack/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { connectWorker, startStackWorker, type WorkerStack } from "../src/index.js";
import { collect, pattern, sha, until } from "./helpers.js";

const stacks: WorkerStack[] = [];
afterEach(async () => {
  for (const s of stacks.splice(0)) await s.close();
});

async function worker(): Promise<WorkerStack> {
  const s = await startStackWorker(); // memory loopback at 10.0.0.1
  stacks.push(s);
  return s;
}

describe("a stack in a worker thread", () => {
  it("runs in another thread and serves echo clients and servers of this one", async () => {
    const stack = await worker();
    expect(stack.address).toBe("10.0.0.1");
    expect(stack.info.pid).toBe(process.pid); // same process, other thread
    expect(stack.worker.threadId).toBeGreaterThan(0);
    const server = stack.createServer((s) => s.pipe(s));
    await new Promise<void>((resolve) => server.listen(7, resolve));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const data = pattern(50_000 + i * 1000, i + 1);
        const c = stack.connect(7, "10.0.0.1", () => c.end(data));
        return collect(c).then((got) => sha(got) === sha(data));
      }),
    );
    expect(results).toEqual(Array(20).fill(true));
  });

  it("carries node:http: a server and http.request clients (createConnection) in this thread", async () => {
    const stack = await worker();
    const app = http.createServer((req, res) => {
      const h = createHash("sha256");
      let n = 0;
      req.on("data", (d: Buffer) => {
        h.update(d);
        n += d.length;
      });
      req.on("end", () => {
        if (req.url?.startsWith("/bytes/")) {
          const body = pattern(Number(req.url.slice(7)), 42);
          res.writeHead(200, { "content-length": body.length, "x-sha256": sha(body) }).end(body);
        } else res.end(JSON.stringify({ n, sha256: h.digest("hex") }));
      });
    });
    const server = stack.createServer((s) => app.emit("connection", s));
    await new Promise<void>((resolve) => server.listen(0, resolve));
    const { port } = server.address() as AddressInfo;
    const agent = new http.Agent({ keepAlive: true });
    (agent as unknown as { createConnection: unknown }).createConnection = () =>
      stack.connect(port, "10.0.0.1");
    const request = (method: string, path: string, body?: Buffer) =>
      httpRequest({ host: "10.0.0.1", port, method, path, agent }, body);
    const get = await request("GET", "/bytes/3000000");
    expect(get.status).toBe(200);
    expect(get.body.length).toBe(3_000_000);
    expect(sha(get.body)).toBe(get.headers["x-sha256"]);
    const upload = pattern(2_000_000, 9);
    const post = await request("POST", "/sink", upload);
    expect(JSON.parse(post.body.toString())).toEqual({ n: upload.length, sha256: sha(upload) });
    agent.destroy();
  });

  it("moves 64 MB byte-exact from a client to a server, both in this thread", async () => {
    const stack = await worker();
    const size = 64 * 1024 * 1024;
    const received = createHash("sha256");
    let count = 0;
    const done = new Promise<void>((resolve, reject) => {
      const server = stack.createServer((s) => {
        s.on("data", (d: Buffer) => {
          received.update(d);
          count += d.length;
        });
        s.on("end", () => {
          s.end();
          resolve();
        });
        s.on("error", reject);
      });
      server.listen(9);
    });
    const sent = createHash("sha256");
    const c = stack.connect(9, "10.0.0.1");
    c.on("error", (e) => {
      throw e;
    });
    await new Promise((resolve) => c.once("connect", resolve));
    const chunk = 1024 * 1024;
    for (let i = 0; i < size / chunk; i++) {
      const block = pattern(chunk, i + 100);
      sent.update(block);
      if (!c.write(block)) await new Promise((resolve) => c.once("drain", resolve));
    }
    c.end();
    c.resume();
    await done;
    expect(count).toBe(size);
    expect(received.digest("hex")).toBe(sent.digest("hex"));
  });

  it("serves a second client of the same worker, and fails its sockets with ECONNRESET when the worker ends", async () => {
    const stack = await worker();
    const other = await connectWorker(stack.worker);
    const server = other.createServer((s) => s.pipe(s));
    await new Promise<void>((resolve) => server.listen(8, resolve));
    const c = stack.connect(8, "10.0.0.1");
    await new Promise((resolve) => c.once("connect", resolve));
    const failed = new Promise<Error & { code?: string }>((resolve) => c.once("error", resolve));
    const disconnected = new Promise<Error>((resolve) => other.once("disconnect", resolve));
    server.on("error", () => {});
    await stack.worker.terminate(); // the "kernel thread" dies
    expect((await failed).code).toBe("ECONNRESET");
    expect((await disconnected).message).toBe("userstack: the stack worker went away");
    await until(() => stack.isClosed, 5000, "the stack to notice");
  });
});
