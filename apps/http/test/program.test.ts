// userstack-http as a person runs it: --help, bad arguments, a clean Ctrl-C with a capture
// flushed, the kernel as the client through a TAP device in a namespace, and a userstack client
// over the tunnel driver.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTunnel } from "@userstack/driver-tunnel";
import { decodeIpv4 } from "@userstack/ipv4";
import { decodePcap } from "@userstack/pcap";
import { createStack } from "@userstack/sockets";
import { decodeTcp, TcpFlag } from "@userstack/tcp";
import { missing, withNetns } from "@userstack/testkit";
import { DecodeError } from "@userstack/wire";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { PATTERN } from "../src/index.js";
import { assertBuilt, dist, Program, run } from "./programs.js";

const MAIN = dist("main");
beforeAll(() => assertBuilt("main"));
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const patternSha = (n: number) => sha(Buffer.from(PATTERN.repeat(Math.ceil(n / 64)).slice(0, n), "latin1"));

let running: Program[] = [];
afterEach(async () => {
  await Promise.all(running.map((p) => p.stop("SIGKILL")));
  running = [];
});

function start(args: string[], env?: NodeJS.ProcessEnv): Program {
  const p = new Program(MAIN, args, { env });
  running.push(p);
  return p;
}

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, "127.0.0.1");
  await new Promise((r) => s.once("listening", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe("userstack-http command line", () => {
  it("prints --help and exits 0", async () => {
    const r = await run(MAIN, ["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: userstack-http \[options\]/);
    expect(r.stdout).toContain("--static <dir>");
    expect(r.stdout).toContain("--driver tunnel");
  });

  it.each([
    [["--bogus"], "unknown option --bogus; --help lists the options."],
    [["extra"], 'userstack-http takes no arguments, only options (got "extra"); --help lists them.'],
    [["--port", "0"], '--port must be a whole number from 1 to 65535, not "0".'],
    [["--forward", "65536"], '--forward must be a whole number from 0 to 65535, not "65536".'],
    [["--forward"], "option --forward needs a value, as in --forward <value>."],
    [["--static", "/nonexistent/dir"], '--static must name a directory, and "/nonexistent/dir" is not one.'],
    [
      ["--driver", "tun", "--forward", "8080"],
      "--forward applies to --driver memory only; other drivers are reached at the stack's own address.",
    ],
    [["--driver", "tunnel", "--netns", "x"], "--netns applies to --driver tap/tun, not to --driver tunnel."],
  ])("%j exits 2 with one sentence", async (args, message) => {
    const r = await run(MAIN, args);
    expect(r).toEqual({ code: 2, stdout: "", stderr: `userstack-http: ${message}\n` });
  });

  it("reads the host port from $PORT, and says so when it is not a port", async () => {
    const r = await run(MAIN, [], { env: { ...process.env, PORT: "eighty" } });
    expect(r).toEqual({
      code: 2,
      stdout: "",
      stderr: 'userstack-http: $PORT must be a whole number from 0 to 65535, not "eighty".\n',
    });
  });

  it("says which port to use when the forwarded port is taken (exit 1)", async () => {
    const blocker = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    const taken = (blocker.address() as net.AddressInfo).port;
    const r = await run(MAIN, ["--forward", String(taken)]);
    blocker.close();
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr: `userstack-http: 127.0.0.1:${taken} is already in use on this machine; choose another port with --forward <port>.\n`,
    });
  });
});

describe("userstack-http stops cleanly on SIGINT", () => {
  it("closes an open keep-alive connection with a FIN, flushes the capture, exits 0", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "http-pcap-")), "http.pcap");
    const app = start(["--forward", "0", "--pcap", file]);
    const url = (await app.waitFor(/open (http:\/\/127\.0\.0\.1:\d+\/)/))[1]!;
    expect(app.stdout).toContain("userstack-http: serving on 10.0.2.15:80 (memory driver)");
    // A keep-alive client that made one request and keeps its connection open.
    const socket = net.connect({ host: "127.0.0.1", port: Number(new URL(url).port) });
    let reply = "";
    socket.setEncoding("latin1").on("data", (d: string) => (reply += d));
    const ended = new Promise<string>((resolve) => {
      socket.once("end", () => resolve("FIN"));
      socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    });
    socket.write("GET /bytes/1000 HTTP/1.1\r\nHost: x\r\n\r\n");
    const complete = () => reply.includes("\r\n\r\n") && reply.length - reply.indexOf("\r\n\r\n") - 4 >= 1000;
    for (let i = 0; i < 250 && !complete(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*content-length: 1000\r\n[\s\S]*keep-alive/i);
    const { code, signal } = await app.stop("SIGINT");
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(app.stdout).toMatch(
      /userstack-http: SIGINT, closing \d+ connection\(s\)\nuserstack-http: stopped\n$/,
    );
    expect(await ended).toBe("FIN"); // closed, not reset
    socket.destroy();
    const pcap = decodePcap(readFileSync(file));
    if (pcap instanceof DecodeError) throw new Error(String(pcap));
    const flags = pcap.records.map((r) => {
      const ip = decodeIpv4(r.data);
      if (ip instanceof DecodeError) throw new Error(String(ip));
      const tcp = decodeTcp(ip.payload, ip.source, ip.destination);
      if (tcp instanceof DecodeError) throw new Error(String(tcp));
      return tcp.flags;
    });
    expect(flags[0]).toBe(TcpFlag.SYN);
    expect(flags.filter((f) => f & TcpFlag.FIN).length).toBe(2); // both FINs made it into the file
    expect(flags.filter((f) => f & TcpFlag.RST)).toEqual([]);
  });
});

const rootSkip = missing({ root: true, tools: ["ip", "curl"] });

describe.skipIf(rootSkip)("userstack-http with --driver tap: the kernel is the client", () => {
  it("serves curl in a namespace at the stack's own address, and lists the kernel's MAC in the ARP table", async () => {
    await withNetns("us-http", async (ns) => {
      const dev = `uh${Math.random().toString(16).slice(2, 8)}`;
      const app = start(["--driver", "tap", "--netns", ns.name, "--device", dev, "--address", "10.0.5.2/24"]);
      try {
        await app.waitFor(/open http:\/\/10\.0\.5\.2\/ from the namespace/);
        await ns.sh(`ip link set ${dev} up && ip addr add 10.0.5.1/24 dev ${dev}`);
        const sum = await ns.sh("curl -sS --max-time 30 http://10.0.5.2/bytes/5000000 | sha256sum", {
          timeoutMs: 40_000,
        });
        expect(sum.split(" ")[0]).toBe(patternSha(5_000_000));
        const status = JSON.parse(
          await ns.exec("curl", ["-sS", "--max-time", "10", "http://10.0.5.2/api/status"]),
        ) as {
          interfaces: { medium: string; notes: string[]; stack: { neighbors: { address: string }[] } }[];
        };
        expect(status.interfaces[0]!.medium).toBe("ethernet");
        expect(status.interfaces[0]!.notes[0]).toBe(`TAP device ${dev} in network namespace ${ns.name}`);
        expect(status.interfaces[0]!.stack.neighbors.map((n) => n.address)).toContain("10.0.5.1");
      } finally {
        expect((await app.stop("SIGINT")).code).toBe(0);
      }
    });
  });
});

describe("userstack-http with --driver tunnel: a userstack client over chiTCP-framed TCP", () => {
  it("serves node:http's client on another stack, byte-exact", async () => {
    const tunnelPort = await freePort();
    const app = start(["--driver", "tunnel", "--tunnel-port", String(tunnelPort)]);
    await app.waitFor(/reach it from another userstack host over the tunnel/);
    const tunnel = await createTunnel({ port: 0, peerPort: tunnelPort, log: false });
    const stack = createStack({ network: tunnel });
    try {
      const body = await new Promise<Buffer>((resolve, reject) => {
        http
          .get(
            {
              host: "127.0.0.1",
              port: 80,
              path: "/bytes/3000000",
              createConnection: () => stack.connect(80, "127.0.0.1") as unknown as net.Socket,
            },
            (res) => {
              const chunks: Buffer[] = [];
              res.on("data", (d: Buffer) => chunks.push(d));
              res.on("end", () => resolve(Buffer.concat(chunks)));
            },
          )
          .on("error", reject);
      });
      expect(body.length).toBe(3_000_000);
      expect(sha(body)).toBe(patternSha(3_000_000));
    } finally {
      await stack.close();
    }
    expect((await app.stop("SIGINT")).code).toBe(0);
  });
});
