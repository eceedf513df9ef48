// The echo server and client as library code, in one process: over an in-memory pair, with a tiny
// MSS, and over the memory driver's virtual networks (client → its gateway → 127.0.0.1 → the
// server's forwarder → the server's gateway → the server), where every byte crosses four
// userstack TCP connections.

import { decodeIpv4 } from "@userstack/ipv4";
import { memoryPair, realClock, withCapture } from "@userstack/link";
import { type NetworkSession, openNetwork } from "@userstack/netkit";
import { decodePcap, MemorySink } from "@userstack/pcap";
import { createStack, type Stack } from "@userstack/sockets";
import { decodeTcp } from "@userstack/tcp";
import { DecodeError } from "@userstack/wire";
import { afterEach, describe, expect, it } from "vitest";
import { EchoMismatch, EchoServer, echo } from "../src/index.js";

const text = new TextEncoder();
let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.reverse()) await c();
  closers = [];
});

function pair(mss?: number, sink?: MemorySink): [Stack, Stack] {
  const [a, b] = memoryPair({ medium: "ip", mtu: 1500 });
  const tcp = mss === undefined ? undefined : { mss };
  const server = createStack({ link: a, ipv4: "10.0.0.1/24", tcp });
  const client = createStack({
    link: sink ? withCapture(b, sink, realClock()) : b,
    ipv4: "10.0.0.2/24",
    tcp,
  });
  closers.push(async () => {
    await client.close();
    await server.close();
  });
  return [server, client];
}

describe("echo over an in-memory pair", () => {
  it("echoes a word, as the classic programs do", async () => {
    const [a, b] = pair();
    const lines: string[] = [];
    const server = await EchoServer.start(a, 7, (l) => lines.push(l));
    closers.push(() => server.close());
    const r = await echo(b, "10.0.0.1", 7, text.encode("hello"));
    expect(new TextDecoder().decode(r.received)).toBe("hello");
    expect(r.total).toBe(5);
    expect(r.local.address).toBe("10.0.0.2");
    for (let i = 0; i < 100 && server.served === 0; i++) await new Promise((res) => setTimeout(res, 10));
    expect(lines).toEqual([
      `Handling client 10.0.0.2:${r.local.port}`,
      `Client 10.0.0.2:${r.local.port} done: 5 bytes echoed`,
    ]);
  });

  it("serves 50 clients at once, each getting its own bytes back", async () => {
    const [a, b] = pair();
    const server = await EchoServer.start(a, 7);
    closers.push(() => server.close());
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, server.active)), 1);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        echo(b, "10.0.0.1", 7, text.encode(`client-${i}-`), { total: 200_000 }),
      ),
    );
    clearInterval(watch);
    expect(results.map((r) => r.total)).toEqual(Array(50).fill(200_000));
    // Many were being served at the same moment, not one after the other.
    expect(peak).toBeGreaterThan(10);
  });

  it("reads a reply that arrives in many pieces with MSS 88, and the wire shows ≤ 88-byte segments", async () => {
    const sink = new MemorySink();
    const [a, b] = pair(88, sink);
    const server = await EchoServer.start(a, 7);
    closers.push(() => server.close());
    const word = text.encode("The quick brown fox jumps over the lazy dog. ".repeat(100)); // 4500 bytes
    const r = await echo(b, "10.0.0.1", 7, word);
    expect(Buffer.from(r.received!).equals(Buffer.from(word))).toBe(true);
    // TCP kept no message boundary: the one word came back in several recv() calls.
    expect(r.recvCalls).toBeGreaterThan(1);
    await b.close();
    const file = decodePcap(sink.bytes());
    if (file instanceof DecodeError) throw new Error(String(file));
    const payloads = file.records.map((rec) => {
      const ip = decodeIpv4(rec.data);
      if (ip instanceof DecodeError) throw new Error(String(ip));
      const tcp = decodeTcp(ip.payload);
      if (tcp instanceof DecodeError) throw new Error(String(tcp));
      return tcp.payloadLength;
    });
    // At most the MSS (less the 12 bytes of timestamp option each segment carries, as Linux does).
    expect(Math.max(...payloads)).toBeLessThanOrEqual(88);
    expect(Math.max(...payloads)).toBeGreaterThan(60);
    // Both directions: the word out and back, 4500 bytes each way in 88-byte segments at most.
    expect(payloads.reduce((s, n) => s + n, 0)).toBe(2 * word.length);
    expect(payloads.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2 * Math.ceil(word.length / 88));
  });

  it("reports a server that echoes something else", async () => {
    const [a, b] = pair();
    const s = a.socket();
    await s.bind(7);
    await s.listen();
    void (async () => {
      const c = await s.accept();
      await c.recv();
      await c.send(text.encode("hellO"));
      await c.close();
    })();
    closers.push(() => s.close());
    await expect(echo(b, "10.0.0.1", 7, text.encode("hello"))).rejects.toThrow(EchoMismatch);
  });

  it("fails with ECONNREFUSED when no server listens", async () => {
    const [, b] = pair();
    await expect(echo(b, "10.0.0.1", 7, text.encode("hello"))).rejects.toMatchObject({
      code: "ECONNREFUSED",
    });
  });
});

describe("echo over the memory driver (virtual networks, forwarder and host alias)", () => {
  it("crosses from one virtual network to another through 127.0.0.1, 4 MiB byte-exact", async () => {
    const server = await openNetwork({ driver: "memory" }, { role: "server" });
    const client = await openNetwork({ driver: "memory" }, { role: "client" });
    closers.push(async () => {
      await client.close();
      await server.close();
    });
    const echoServer = await EchoServer.start(server.stack, 7);
    closers.push(() => echoServer.close());
    const fwd = await server.virtual!.forward(0, 7);
    const address = client.dialAddress("127.0.0.1");
    expect(address).toBe("10.0.2.2");
    const r = await echo(client.stack, address, fwd.port, text.encode("userstack"), { total: 4 << 20 });
    expect(r.total).toBe(4 << 20);
    expect(echoServer.served).toBeLessThanOrEqual(1);
    // Each virtual network's interface counted the traffic both ways.
    for (const s of [server, client] as NetworkSession[]) {
      expect(s.counters.bytesIn).toBeGreaterThan(4 << 20);
      expect(s.counters.bytesOut).toBeGreaterThan(4 << 20);
    }
  });

  it("refuses an address the memory driver cannot reach, in one sentence", async () => {
    const client = await openNetwork({ driver: "memory" }, { role: "client" });
    closers.push(() => client.close());
    expect(() => client.dialAddress("192.0.2.1")).toThrow(
      'with --driver memory the stack reaches only this machine, so the server address must be 127.0.0.1 (or 10.0.2.2), not "192.0.2.1"; use --driver tap, tun or tunnel for other hosts.',
    );
  });
});
