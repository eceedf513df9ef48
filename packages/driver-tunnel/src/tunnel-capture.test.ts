import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { realClock } from "@userstack/link";
import { decodePcap, LinkType, MemorySink } from "@userstack/pcap";
import { encodeTcp, TcpFlag, type TcpHeader } from "@userstack/tcp";
import { missing } from "@userstack/testkit";
import { DecodeError, toHex } from "@userstack/wire";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { LOOPBACK, tunnelOn } from "../test/helpers.js";
import { withNetworkCapture } from "./network-capture.js";

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

/** A coherent TCP conversation (handshake, data both ways, close), checksummed for 127.0.0.1. */
function conversation(): { fromA: boolean; segment: Uint8Array }[] {
  const seg = (h: Partial<TcpHeader>, payload = new Uint8Array(0), fromA = true) => ({
    fromA,
    segment: encodeTcp(
      {
        sourcePort: fromA ? 45000 : 80,
        destinationPort: fromA ? 80 : 45000,
        seq: 0,
        ack: 0,
        flags: TcpFlag.ACK,
        window: 65535,
        ...h,
      },
      payload,
      undefined,
      0,
      LOOPBACK,
      LOOPBACK,
    ),
  });
  const request = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: tunnel\r\n\r\n");
  const reply = new Uint8Array(3000).fill(0x61);
  const a = 1000;
  const b = 5000;
  return [
    seg({ seq: a, flags: TcpFlag.SYN, options: [{ kind: 2, mss: 65495 }] }),
    seg(
      { seq: b, ack: a + 1, flags: TcpFlag.SYN | TcpFlag.ACK, options: [{ kind: 2, mss: 65495 }] },
      undefined,
      false,
    ),
    seg({ seq: a + 1, ack: b + 1 }),
    seg({ seq: a + 1, ack: b + 1, flags: TcpFlag.ACK | TcpFlag.PSH }, request),
    seg({ seq: b + 1, ack: a + 1 + request.length, flags: TcpFlag.ACK | TcpFlag.PSH }, reply, false),
    seg({ seq: a + 1 + request.length, ack: b + 1 + reply.length, flags: TcpFlag.ACK | TcpFlag.FIN }),
    seg(
      { seq: b + 1 + reply.length, ack: a + 2 + request.length, flags: TcpFlag.ACK | TcpFlag.FIN },
      undefined,
      false,
    ),
    seg({ seq: a + 2 + request.length, ack: b + 2 + reply.length }),
  ];
}

/** Plays the conversation between tunnels A and B, capturing at A's socket and above B. */
async function play() {
  const tunnelSink = new MemorySink();
  const b = await tunnelOn();
  const a = await tunnelOn({ peerPort: b.t.port, capture: tunnelSink });
  open.push(a.t, b.t);
  b.t.addRoute({ address: "127.0.0.1", port: a.t.port });
  const layerSink = new MemorySink();
  const bLayer = withNetworkCapture(b.t, layerSink, realClock());
  bLayer.attach(b.rx);
  const talk = conversation();
  let atA = 0;
  let atB = 0;
  for (const { fromA, segment } of talk) {
    if (fromA) {
      a.t.send(LOOPBACK, 6, segment);
      await b.rx.waitFor(++atB);
    } else {
      bLayer.send(LOOPBACK, 6, segment);
      await a.rx.waitFor(++atA);
    }
  }
  await a.t.close();
  await bLayer.close();
  return { talk, tunnelSink, layerSink };
}

describe("tunnel capture", () => {
  it("records both directions as IPv4 datagrams around the exact segments", async () => {
    const { talk, tunnelSink, layerSink } = await play();
    for (const sink of [tunnelSink, layerSink]) {
      const file = decodePcap(sink.bytes());
      if (file instanceof DecodeError) throw new Error(String(file));
      expect(file.linkType).toBe(LinkType.Raw);
      expect(file.records.map((r) => toHex(r.data.subarray(20)))).toEqual(talk.map((t) => toHex(t.segment)));
      for (const r of file.records) expect(toHex(r.data.subarray(12, 20))).toBe("7f0000017f000001");
    }
  });
});

const skip = missing({ tools: ["tshark"] });
describe.skipIf(skip)("tunnel capture in tshark", () => {
  const dir = mkdtempSync(join(tmpdir(), "userstack-tunnel-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("decodes every segment as TCP with good IP and TCP checksums and nothing malformed", async () => {
    const { talk, tunnelSink, layerSink } = await play();
    for (const [name, sink] of [
      ["tunnel.pcap", tunnelSink],
      ["layer.pcap", layerSink],
    ] as const) {
      const path = join(dir, name);
      writeFileSync(path, sink.bytes());
      const tshark = (...args: string[]) =>
        execFileSync(
          "tshark",
          ["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-r", path, ...args],
          {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
          },
        );
      const rows = tshark("-T", "fields", "-e", "frame.protocols", "-e", "tcp.flags.str", "-e", "tcp.len")
        .trim()
        .split("\n");
      expect(rows.length).toBe(talk.length);
      for (const r of rows) expect(r).toMatch(/^raw:ip:tcp(:http|:data)?\t/);
      expect(rows.map((r) => r.split("\t")[2])).toEqual(["0", "0", "0", "32", "3000", "0", "0", "0"]);
      expect(
        tshark(
          "-Y",
          "_ws.malformed || _ws.expert.severity >= warning || tcp.checksum.status == 0 || ip.checksum.status == 0",
        ),
      ).toBe("");
      expect(
        tshark("-Y", "tcp.checksum.status == 1 && ip.checksum.status == 1").trim().split("\n").length,
      ).toBe(talk.length);
    }
  });
});
