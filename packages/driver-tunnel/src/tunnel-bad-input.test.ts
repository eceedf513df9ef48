import { connect, type Socket } from "node:net";
import { Prng } from "@userstack/link";
import { afterEach, describe, expect, it } from "vitest";
import { LOOPBACK, segment, tunnelOn, until } from "../test/helpers.js";
import { CHITCP_HEADER_LENGTH, encodeHello, writeChitcpHeader } from "./chitcp-header.js";

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

/** A healthy pair (A dials B) and a raw socket to B for hostile input. */
async function setup(mode: "userstack" | "chitcp" = "userstack") {
  const b = await tunnelOn({ mode });
  const a = await tunnelOn({ mode, peerPort: b.t.port });
  open.push(a.t, b.t);
  a.t.send(LOOPBACK, 6, segment(1, 2, 0, 100));
  await b.rx.waitFor(1);
  return { a, b };
}

/** Connects to `port`, writes `bytes` (and ends when asked), resolves when the tunnel closes it. */
function hostile(port: number, bytes: Uint8Array, end = false): Promise<{ closedByTunnel: boolean }> {
  return new Promise((resolve) => {
    const s: Socket = connect({ host: "127.0.0.1", port }, () => {
      s.write(bytes);
      if (end) s.end();
    });
    s.on("error", () => {});
    s.on("data", () => {});
    s.on("close", () => resolve({ closedByTunnel: true }));
  });
}

function hello(port: number): Uint8Array {
  const h = new Uint8Array(CHITCP_HEADER_LENGTH + 4);
  encodeHello(h, 0, port);
  return h;
}

function header(length: number, protocol: number): Uint8Array {
  const h = new Uint8Array(CHITCP_HEADER_LENGTH);
  writeChitcpHeader(h, 0, length, protocol);
  return h;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The healthy peer still carries traffic both ways after the attack. */
async function stillWorks(a: Awaited<ReturnType<typeof tunnelOn>>, b: Awaited<ReturnType<typeof tunnelOn>>) {
  const before = b.rx.got.length;
  a.t.send(LOOPBACK, 6, segment(1, 2, 7, 300));
  await b.rx.waitFor(before + 1);
  expect(a.t.stats.connectionsDialed).toBe(1); // the same connection as before
  expect(a.t.stats.connectionsLost).toBe(0);
}

describe("hostile input drops only the connection that carried it", () => {
  const cases: [string, (helloPort: number) => Uint8Array, string, boolean?][] = [
    ["garbage", () => new Uint8Array(4096).map((_, i) => (i * 151 + 17) & 0xff), "bad-protocol"],
    ["an unknown protocol", (p) => concat(hello(p), header(20, 9), new Uint8Array(20)), "bad-protocol"],
    ["a length over 65515", (p) => concat(hello(p), header(65535, 1)), "oversize"],
    [
      "non-zero reserved bytes",
      (p) => concat(hello(p), header(20, 1).fill(1, 10, 11), new Uint8Array(20)),
      "bad-header",
    ],
    [
      "a stream cut mid-frame",
      (p) => concat(hello(p), header(100, 1), new Uint8Array(40)),
      "truncated",
      true,
    ],
    ["a segment before the hello", () => concat(header(20, 1), segment(1, 2, 3, 0)), "expected-hello"],
    ["a second hello", (p) => concat(hello(p), hello(p)), "bad-hello"],
  ];
  for (const [what, bytes, code, end] of cases) {
    it(`${what}: logged as ${code}, other peers unaffected`, async () => {
      const { a, b } = await setup();
      const r = await hostile(b.t.port, bytes(40000), end);
      expect(r.closedByTunnel).toBe(true);
      const warn = b.log.filter((e) => e.level === "warn");
      expect(warn.map((e) => e.code)).toEqual([code]);
      expect(warn[0]!.message).toMatch(
        /^userstack tunnel: dropped the connection from 127\.0\.0\.1:\d+.*Other peers are not affected\.$/,
      );
      expect(b.t.stats.connectionsRefused).toBe(1);
      await stillWorks(a, b);
    });
  }

  it("garbage from a seeded generator, many times over: every connection dropped, memory bounded", async () => {
    const { a, b } = await setup();
    const rng = new Prng(11);
    for (let i = 0; i < 30; i++) {
      const junk = new Uint8Array(1 + (rng.u32() % 70_000)).map(() => rng.u32() & 0xff);
      await hostile(b.t.port, junk, true);
    }
    await until(() => b.t.stats.connectionsRefused === 30, 5000, "30 refusals");
    await stillWorks(a, b);
    expect(b.t.openConnections).toBe(1);
  });

  it("a segment with a bad checksum is dropped alone, the connection kept", async () => {
    const { a, b } = await setup();
    const s = segment(1, 2, 5, 50);
    const bad = s.slice();
    bad[30]! ^= 0x40;
    const r = hostile(b.t.port, concat(hello(40001), header(bad.length, 1), bad, header(s.length, 1), s));
    await b.rx.waitFor(2);
    expect(b.t.stats.dropped.badChecksum).toBe(1);
    expect(b.t.stats.connectionsRefused).toBe(0);
    await stillWorks(a, b);
    await b.t.close();
    await r;
  });
});

describe("chiTCP-compatible mode", () => {
  it("carries segments up to 1000 bytes, accepts a zero checksum, exposes MSS 536", async () => {
    const { a, b } = await setup("chitcp");
    expect(a.t.pathMtu(LOOPBACK)).toBe(556);
    const zero = segment(9, 10, 1, 980);
    zero[16] = 0;
    zero[17] = 0; // chitcpd never computes a checksum
    a.t.send(LOOPBACK, 6, zero);
    a.t.send(LOOPBACK, 6, segment(9, 10, 2, 981)); // 1001 bytes: over chiTCP's limit
    const wrong = segment(9, 10, 3, 100);
    wrong[16]! ^= 1; // a non-zero checksum is still checked
    a.t.send(LOOPBACK, 6, wrong);
    a.t.send(LOOPBACK, 6, segment(9, 10, 4, 10));
    await b.rx.waitFor(3);
    expect(b.rx.got.map((r) => r.segment.length)).toEqual([120, 1000, 30]);
    expect(a.t.stats.dropped.oversize).toBe(1);
    expect(b.t.stats.dropped.badChecksum).toBe(1);
  });

  it("keys peers by address only and speaks without a hello, as chitcpd does", async () => {
    const b = await tunnelOn({ mode: "chitcp" });
    open.push(b.t);
    // A bare chiTCP client (what chitcpd sends): header + segment, no hello.
    const s = segment(5, 6, 0, 64);
    await new Promise<void>((resolve) => {
      const c = connect({ host: "127.0.0.1", port: b.t.port }, () => c.write(concat(header(s.length, 1), s)));
      c.on("data", () => {});
      b.rx.waitFor(1).then(() => {
        // B answers over the same connection: its peer is "127.0.0.1", whatever port dialed.
        b.t.send(LOOPBACK, 6, segment(6, 5, 0, 8));
      });
      c.once("data", (d) => {
        expect(d.length).toBe(16 + 28);
        expect(d[2]).toBe(1);
        c.destroy();
        resolve();
      });
    });
    expect(b.t.peers().map((p) => p.endpoint)).toEqual([`127.0.0.1:23300`]);
    expect(b.t.stats.connectionsDialed).toBe(0);
  });

  it("refuses a length over 1000 and a userstack hello, and the peer gets through again", async () => {
    const { a, b } = await setup("chitcp");
    await hostile(b.t.port, header(1001, 1));
    await hostile(b.t.port, hello(1));
    expect(b.log.filter((e) => e.level === "warn").map((e) => e.code)).toEqual(["oversize", "bad-protocol"]);
    // Keyed by address alone, a hostile connection from the same address takes the peer's place
    // (as a restarted chitcpd's would); the real peer's next segments reconnect.
    let seq = 100;
    await until(
      () => {
        a.t.send(LOOPBACK, 6, segment(1, 2, seq++, 10));
        return b.rx.got.length > 1;
      },
      5000,
      "the peer to get through",
    );
    expect(b.rx.got.at(-1)!.segment.length).toBe(30);
  });
});
