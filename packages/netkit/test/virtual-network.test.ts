import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { createStack, type SocketError, type Stack } from "@userstack/sockets";
import { afterEach, describe, expect, it } from "vitest";
import { VirtualNetwork } from "../src/index.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

function guestOn(v: VirtualNetwork): Stack {
  const app = createStack({ link: v.guestLink, ipv4: v.guest, gateway: v.gatewayAddress });
  cleanup.push(async () => {
    await v.close();
    await app.close();
  });
  return app;
}

/** Sends `data` on a real socket, half-closes, and collects everything that comes back. */
function exchange(port: number, data: Uint8Array): Promise<{ back: Buffer; local: number }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("end", () => {
      s.end();
      resolve({ back: Buffer.concat(chunks), local: s.localPort ?? 0 });
    });
    s.on("error", reject);
    s.end(data);
  });
}

describe("VirtualNetwork, host → guest (hostfwd)", () => {
  it("carries a real connection into the guest stack, 2 MB each way byte-exact, FIN passed on", async () => {
    const v = new VirtualNetwork();
    const app = guestOn(v);
    const seen: string[] = [];
    app
      .createServer({ allowHalfOpen: true }, (s) => {
        seen.push(`${s.remoteAddress}`);
        s.pipe(s); // echo, and end after the client's FIN
      })
      .listen(7);
    const fwd = await v.forward(0, 7);
    expect(fwd.port).toBeGreaterThan(0);
    const data = randomBytes(2 << 20);
    const { back } = await exchange(fwd.port, data);
    expect(back.length).toBe(data.length);
    expect(sha(back)).toBe(sha(data));
    // The guest saw the gateway as its peer: the connection crossed the virtual cable.
    expect(seen).toEqual(["10.0.2.2"]);
  });

  it("lists each carried connection with its host peer while it is open", async () => {
    const v = new VirtualNetwork();
    const app = guestOn(v);
    app.createServer(() => {}).listen(80);
    const fwd = await v.forward(0, 80);
    const s = net.connect({ host: "127.0.0.1", port: fwd.port });
    await new Promise((r) => s.once("connect", r));
    // The gateway's SYN may be out while the guest is still in SYN-RECEIVED: wait for the handshake.
    const guestRow = () => {
      const port = v.flows().forwarded[0]?.gatewayPort ?? 0;
      return app.stats().find((c) => port !== 0 && c.remotePort === port);
    };
    for (let i = 0; i < 100 && guestRow()?.state !== "ESTABLISHED"; i++)
      await new Promise((r) => setTimeout(r, 10));
    const [flow] = v.flows().forwarded;
    expect(flow?.host).toEqual({ address: "127.0.0.1", port: s.localPort });
    // The guest's connection table has the gateway's end of the same flow.
    const row = app.stats().find((c) => c.remotePort === flow?.gatewayPort);
    expect(row).toMatchObject({ remoteAddress: "10.0.2.2", localPort: 80, state: "ESTABLISHED" });
    s.destroy();
  });

  it("resets the host connection when nothing listens on the guest port", async () => {
    const v = new VirtualNetwork();
    guestOn(v);
    const fwd = await v.forward(0, 81);
    const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port: fwd.port });
      s.on("error", resolve);
      s.on("close", () => resolve(undefined));
      s.resume();
    });
    expect(err?.code).toBe("ECONNRESET");
  });

  it("says which port to use when the host port is taken", async () => {
    const blocker = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    const taken = (blocker.address() as net.AddressInfo).port;
    const v = new VirtualNetwork();
    guestOn(v);
    await expect(v.forward(taken, 80)).rejects.toThrow(
      `127.0.0.1:${taken} is already in use on this machine; choose another port with --forward <port>.`,
    );
    blocker.close();
  });
});

describe("VirtualNetwork, guest → host (10.0.2.2 stands for 127.0.0.1)", () => {
  it("carries a guest connection to a real server on 127.0.0.1, byte-exact, with the real peer's FIN", async () => {
    const host = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
    await new Promise<void>((r) => host.listen(0, "127.0.0.1", r));
    cleanup.push(() => new Promise((r) => host.close(() => r())));
    const port = (host.address() as net.AddressInfo).port;
    const v = new VirtualNetwork();
    const app = guestOn(v);
    const s = app.socket();
    await s.connect("10.0.2.2", port);
    const data = randomBytes(1 << 20);
    const receiving = (async () => {
      const got: Uint8Array[] = [];
      for (let b = await s.recv(); b.length > 0; b = await s.recv()) got.push(b);
      return Buffer.concat(got);
    })();
    await s.send(data);
    await s.shutdown("write");
    const back = await receiving;
    expect(sha(back)).toBe(sha(data));
    expect(v.flows().proxied.length).toBeLessThanOrEqual(1);
    await s.close();
  });

  it("refuses the guest (ECONNREFUSED) when nothing listens on the host port", async () => {
    const probe = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => probe.once("listening", r));
    const closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const v = new VirtualNetwork();
    const app = guestOn(v);
    const err = (await app
      .socket()
      .connect("10.0.2.2", closedPort)
      .catch((e: SocketError) => e)) as SocketError;
    expect(err.code).toBe("ECONNREFUSED");
    expect(err.message).toBe(`connect ECONNREFUSED 10.0.2.2:${closedPort} (connection refused)`);
  });

  it("serves many guest connections at once", async () => {
    const host = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
    await new Promise<void>((r) => host.listen(0, "127.0.0.1", r));
    cleanup.push(() => new Promise((r) => host.close(() => r())));
    const port = (host.address() as net.AddressInfo).port;
    const v = new VirtualNetwork();
    const app = guestOn(v);
    const one = async (i: number) => {
      const s = app.socket();
      await s.connect("10.0.2.2", port);
      const data = randomBytes(10_000 + i);
      const got: Uint8Array[] = [];
      const r = (async () => {
        for (let b = await s.recv(); b.length > 0; b = await s.recv()) got.push(b);
      })();
      await s.send(data);
      await s.shutdown("write");
      await r;
      await s.close();
      return sha(Buffer.concat(got)) === sha(data);
    };
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => one(i)));
    expect(results.every(Boolean)).toBe(true);
  });
});
