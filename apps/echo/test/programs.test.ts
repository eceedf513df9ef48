// echo-server and echo-client as a person runs them: separate processes, the memory driver's
// forwarder and host alias between them (every byte crosses userstack's TCP in both processes),
// the tunnel driver, --help, bad arguments, Ctrl-C, and a capture.
import { mkdtempSync, readFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeIpv4 } from "@userstack/ipv4";
import { decodePcap, LinkType } from "@userstack/pcap";
import { decodeTcp, TcpFlag } from "@userstack/tcp";
import { DecodeError } from "@userstack/wire";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, dist, Program, run } from "./programs.js";

const SERVER = dist("echo-server");
const CLIENT = dist("echo-client");
beforeAll(() => assertBuilt("echo-server", "echo-client"));

let running: Program[] = [];
afterEach(async () => {
  await Promise.all(running.map((p) => p.stop("SIGKILL")));
  running = [];
});

async function startServer(args: string[]): Promise<{ server: Program; port: number }> {
  const server = new Program(SERVER, ["--forward", "0", ...args]);
  running.push(server);
  const m = await server.waitFor(/reaches it at 127\.0\.0\.1:(\d+)/);
  return { server, port: Number(m[1]) };
}

/** A port nothing listens on now (and, being ephemeral, unlikely to be taken in the next moment). */
async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, "127.0.0.1");
  await new Promise((r) => s.once("listening", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe("echo-server and echo-client in two processes, memory driver", () => {
  it("echoes a word, then stops cleanly on SIGINT", async () => {
    const { server, port } = await startServer(["7"]);
    expect(server.stdout).toContain("echo-server: listening on 10.0.2.15:7 (memory driver)");
    const c = await run(CLIENT, ["127.0.0.1", "hello", String(port)]);
    expect(c.stderr).toBe("");
    expect(c.code).toBe(0);
    const lines = c.stdout.trim().split("\n");
    expect(lines[0]).toBe("Received: hello");
    expect(lines[1]).toMatch(
      new RegExp(
        `^5 bytes echoed by 127\\.0\\.0\\.1:${port} via 10\\.0\\.2\\.2 in 1 recv\\(\\) call, [\\d.]+ ms \\(from 10\\.0\\.2\\.15:\\d+, memory driver\\)$`,
      ),
    );
    // The server saw the client as its gateway: the connection came through the forwarder.
    await server.waitFor(/Client 10\.0\.2\.2:\d+ done: 5 bytes echoed/);
    expect(server.stdout).toMatch(/Handling client 10\.0\.2\.2:\d+/);
    const { code, signal } = await server.stop("SIGINT");
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(server.stdout).toContain("echo-server: SIGINT, closing 0 connections");
    expect(server.stdout).toContain("echo-server: stopped after serving 1 client");
  });

  it("handles partial reads with MSS 88 on both stacks, and shows progress on a long transfer", async () => {
    const { server, port } = await startServer(["--mss", "88"]);
    const word = "0123456789abcdef".repeat(250); // 4000 bytes
    const small = await run(CLIENT, ["--mss", "88", "127.0.0.1", word, String(port)]);
    expect(small.code).toBe(0);
    expect(small.stdout.split("\n")[0]).toBe(`Received: ${word}`);
    const calls = Number(/in (\d+) recv\(\) calls?/.exec(small.stdout)?.[1]);
    expect(calls).toBeGreaterThan(1);

    const big = await run(CLIENT, ["--size", "8M", "127.0.0.1", "userstack", String(port)]);
    expect(big.code).toBe(0);
    expect(big.stdout).toContain("Received 8.0 MiB back, identical to what was sent");
    expect(big.stdout).toMatch(
      /^8388608 bytes echoed by 127\.0\.0\.1:\d+ via 10\.0\.2\.2 in \d+ recv\(\) calls/m,
    );
    // Progress went to stderr (one line a second on a pipe, and a last one at 100%).
    const progress = big.stderr.trim().split("\n");
    expect(progress.at(-1)).toMatch(/^sent 8\.0 MiB, echoed 8\.0 MiB of 8\.0 MiB \(100%\), [\d.]+ Mbit\/s$/);
    await server.stop();
  });

  it("interrupts a client mid-transfer (exit 130, the server sees a reset and keeps serving), stops on SIGTERM", async () => {
    const { server, port } = await startServer([]);
    const client = new Program(CLIENT, ["--size", "4G", "127.0.0.1", "long", String(port)]);
    running.push(client);
    for (let i = 0; i < 500 && !/echoed [1-9]/.test(client.stderr); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(client.stderr).toMatch(
      /^sent [\d.]+ [KMG]iB, echoed [\d.]+ [KMG]iB of 4\.0 GiB \(\d+%\), [\d.]+ Mbit\/s$/m,
    );
    const { code } = await client.stop("SIGINT");
    expect(code).toBe(130);
    expect(client.stderr).toContain("echo-client: SIGINT, stopping");
    await server.waitFor(/Client 10\.0\.2\.2:\d+: \S+ ECONNRESET/);
    const again = await run(CLIENT, ["127.0.0.1", "still there?", String(port)]);
    expect(again.stdout.split("\n")[0]).toBe("Received: still there?");
    const stopped = await server.stop("SIGTERM");
    expect(stopped.code).toBe(0);
    expect(server.stdout).toContain("echo-server: SIGTERM, closing 0 connections");
  });

  it("serves several client processes at once", async () => {
    const { server, port } = await startServer([]);
    const clients = await Promise.all(
      [1, 2, 3, 4].map((i) => run(CLIENT, ["--size", "2M", "127.0.0.1", `client${i}`, String(port)])),
    );
    expect(clients.map((c) => c.code)).toEqual([0, 0, 0, 0]);
    expect(server.stdout.match(/Handling client/g)?.length).toBe(4);
    await server.stop();
  });

  it("writes a pcap of the server's link that decodes, with the handshake and FINs, flushed on SIGINT", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "echo-pcap-")), "echo.pcap");
    const { server, port } = await startServer(["--pcap", file]);
    const c = await run(CLIENT, ["127.0.0.1", "captured", String(port)]);
    expect(c.code).toBe(0);
    await server.waitFor(/done: 8 bytes echoed/);
    expect((await server.stop()).code).toBe(0);
    const pcap = decodePcap(readFileSync(file));
    if (pcap instanceof DecodeError) throw new Error(String(pcap));
    expect(pcap.linkType).toBe(LinkType.Raw);
    const flags: number[] = [];
    let payload = "";
    for (const r of pcap.records) {
      const ip = decodeIpv4(r.data);
      if (ip instanceof DecodeError) throw new Error(String(ip));
      const tcp = decodeTcp(ip.payload, ip.source, ip.destination); // checksums verified too
      if (tcp instanceof DecodeError) throw new Error(String(tcp));
      flags.push(tcp.flags);
      payload += new TextDecoder().decode(tcp.payload);
    }
    expect(flags[0]).toBe(TcpFlag.SYN);
    expect(flags[1]).toBe(TcpFlag.SYN | TcpFlag.ACK);
    expect(flags.filter((f) => f & TcpFlag.FIN).length).toBe(2);
    expect(payload).toBe("capturedcaptured"); // the word in, and back out
  });

  it("says why a client fails when nothing listens", async () => {
    const port = await freePort();
    const c = await run(CLIENT, ["127.0.0.1", "hello", String(port)]);
    expect(c.code).toBe(1);
    expect(c.stderr).toBe(
      `echo-client: connect ECONNREFUSED 10.0.2.2:${port} (connection refused): is echo-server running and forwarded on 127.0.0.1:${port}?\n`,
    );
  });
});

describe("echo over the tunnel driver, two processes", () => {
  it("echoes through chiTCP-framed segments inside real TCP", async () => {
    const tunnelPort = await freePort();
    const server = new Program(SERVER, ["--driver", "tunnel", "--tunnel-port", String(tunnelPort), "7"]);
    running.push(server);
    await server.waitFor(
      /listening on 127\.0\.0\.1:7 \(tunnel driver, userstack tunnel on 127\.0\.0\.1:(\d+)\)/,
    );
    const c = await run(CLIENT, [
      "--driver",
      "tunnel",
      "--peer-port",
      String(tunnelPort),
      "--size",
      "1M",
      "127.0.0.1",
      "tunnelled",
    ]);
    expect(c.stderr.split("\n").filter((l) => l && !l.startsWith("sent "))).toEqual([]);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/^1048576 bytes echoed by 127\.0\.0\.1:7 in \d+ recv\(\) calls/m);
    expect((await server.stop()).code).toBe(0);
  });
});

describe("command line", () => {
  it("prints --help and exits 0", async () => {
    for (const p of [SERVER, CLIENT]) {
      const r = await run(p, ["--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^usage: echo-(server|client) \[options\]/);
      expect(r.stdout).toContain("--driver memory");
    }
  });

  it.each([
    [SERVER, ["--bogus"], "echo-server: unknown option --bogus; --help lists the options."],
    [SERVER, ["70000"], 'echo-server: the port must be a whole number from 1 to 65535, not "70000".'],
    [
      SERVER,
      ["--driver", "wifi"],
      'echo-server: --driver must be one of memory, tap, tun, tunnel, not "wifi".',
    ],
    [
      SERVER,
      ["--driver", "tap", "--forward", "80"],
      "echo-server: --forward applies to --driver memory only; other drivers are reached at the stack's own address.",
    ],
    [
      SERVER,
      ["--tunnel-port", "1"],
      "echo-server: --tunnel-port applies to --driver tunnel, not to --driver memory.",
    ],
    [SERVER, ["--mss", "20"], 'echo-server: --mss must be a whole number from 88 to 65495, not "20".'],
    [
      CLIENT,
      [],
      "echo-client: expected <server ip> <word> [port], as in `echo-client 127.0.0.1 hello`, but got 0 arguments.",
    ],
    [
      CLIENT,
      ["127.0.0.1", "hi", "0"],
      'echo-client: the port must be a whole number from 1 to 65535, not "0".',
    ],
    [
      CLIENT,
      ["--size", "lots", "127.0.0.1", "hi"],
      'echo-client: --size must be a byte count such as 1000, 64k, 100M or 2G, at least the word\'s 2 bytes, not "lots".',
    ],
    [
      CLIENT,
      ["--driver", "tun", "--address", "10.0.0.2", "10.0.0.1", "hi"],
      'echo-client: --address must be an IPv4 address with its prefix, like 10.0.0.2/24, not "10.0.0.2".',
    ],
    [
      CLIENT,
      ["192.0.2.1", "hi"],
      'echo-client: with --driver memory the stack reaches only this machine, so the server address must be 127.0.0.1 (or 10.0.2.2), not "192.0.2.1"; use --driver tap, tun or tunnel for other hosts.',
    ],
  ])("%s %j exits 2 with one sentence", async (program, args, message) => {
    const r = await run(program, args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`${message}\n`);
  });
});
