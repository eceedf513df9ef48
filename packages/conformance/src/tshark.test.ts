import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeArp } from "@userstack/arp";
import { decodeEthernet, EtherType } from "@userstack/ethernet";
import { decodeIcmp, decodeIcmpQuote } from "@userstack/icmp";
import { decodeIpv4, IpProtocol } from "@userstack/ipv4";
import { LinkType, MemorySink, PcapWriter } from "@userstack/pcap";
import { decodeTcp } from "@userstack/tcp";
import { missing } from "@userstack/testkit";
import { DecodeError } from "@userstack/wire";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCorpus } from "./corpus.js";

/** Every field of one dissected packet, by name, values in document order (outer layers first). */
type Fields = Map<string, string[]>;

function flatten(node: unknown, out: Fields): void {
  if (node === null || typeof node !== "object") return;
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (typeof v === "string") {
        const list = out.get(key);
        if (list) list.push(v);
        else out.set(key, [v]);
      } else {
        if (!out.has(key)) out.set(key, []);
        flatten(v, out);
      }
    }
  }
}

/**
 * tshark's preferences: checksum validation on wherever it is a preference (ICMP's is always
 * verified), absolute sequence numbers, and no sequence analysis — the corpus frames are
 * independent segments, not a conversation.
 */
const PREFS = [
  "ip.check_checksum:TRUE",
  "tcp.check_checksum:TRUE",
  "udp.check_checksum:TRUE",
  "ip.defragment:TRUE",
  "tcp.analyze_sequence_numbers:FALSE",
  "tcp.relative_sequence_numbers:FALSE",
];

/** Severity of expert info (epan/proto.h): PI_WARN and above must not appear, but for these. */
const PI_WARN = 0x00600000;
const EXPECTED_WARNINGS = new Set(["Connection reset (RST)"]);

const skip = missing({ tools: ["tshark"] });

describe.skipIf(skip)("tshark dissects the encoded corpus as encoded", () => {
  const corpus = buildCorpus();
  const dir = mkdtempSync(join(tmpdir(), "conformance-"));
  let packets: Fields[] = [];

  beforeAll(() => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { linkType: LinkType.Ethernet });
    for (const [i, c] of corpus.entries()) w.write(c.frame, 1_700_000_000_000 + i);
    const path = join(dir, "corpus.pcap");
    writeFileSync(path, sink.bytes());
    const json = execFileSync(
      "tshark",
      ["-r", path, "-T", "json", "--no-duplicate-keys", ...PREFS.flatMap((p) => ["-o", p])],
      { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] },
    );
    packets = (JSON.parse(json) as { _source: { layers: unknown } }[]).map((p) => {
      const f: Fields = new Map();
      flatten(p._source.layers, f);
      return f;
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("has one dissected packet per frame and a corpus that covers each protocol", () => {
    expect(packets.length).toBe(corpus.length);
    const protocols = packets.map((p) => p.get("frame.protocols")![0]!);
    for (const want of [
      "eth:ethertype:arp",
      "eth:ethertype:ip:data",
      "eth:ethertype:ip:icmp:data",
      "eth:ethertype:ip:icmp:ip:udp",
      "eth:ethertype:ip:tcp",
      "eth:ethertype:vlan:ethertype:ip:tcp",
    ])
      expect(
        protocols.some((p) => p.startsWith(want)),
        want,
      ).toBe(true);
  });

  corpus.forEach((c, i) => {
    it(`${i + 1}: ${c.name}`, () => {
      const got = packets[i]!;
      expect(got.has("_ws.malformed"), "malformed packet").toBe(false);
      // No checksum tshark verified is bad (0) or illegal (4); unverifiable ones (2) are quoted,
      // truncated datagrams inside ICMP errors.
      for (const [key, values] of got)
        if (key.endsWith(".checksum.status"))
          expect(
            values.filter((v) => v === "0" || v === "4"),
            key,
          ).toEqual([]);
      const severities = got.get("_ws.expert.severity") ?? [];
      const messages = got.get("_ws.expert.message") ?? [];
      const serious = messages.filter(
        (m, k) => Number(severities[k]) >= PI_WARN && !EXPECTED_WARNINGS.has(m),
      );
      expect(serious, "expert warnings").toEqual([]);
      for (const [field, want] of Object.entries(c.expect)) {
        const values = got.get(field);
        if (Array.isArray(want)) expect(values ?? [], field).toEqual(want);
        else expect(values?.[0], field).toBe(want);
      }
    });
  });
});

describe("the codecs themselves accept the whole corpus", () => {
  it("decodes every layer of every frame", () => {
    for (const c of buildCorpus()) {
      const eth = decodeEthernet(c.frame);
      if (eth instanceof DecodeError) throw new Error(`${c.name}: ${eth}`);
      if (eth.etherType === EtherType.Arp) {
        expect(decodeArp(eth.payload), c.name).not.toBeInstanceOf(DecodeError);
        continue;
      }
      const ip = decodeIpv4(eth.payload);
      if (ip instanceof DecodeError) throw new Error(`${c.name}: ${ip}`);
      if (ip.isFragment) continue;
      if (ip.protocol === IpProtocol.Icmp) {
        const icmp = decodeIcmp(ip.payload);
        if (icmp instanceof DecodeError) throw new Error(`${c.name}: ${icmp}`);
        if (icmp.isError) expect(decodeIcmpQuote(icmp), c.name).not.toBeInstanceOf(DecodeError);
      }
      if (ip.protocol === IpProtocol.Tcp)
        expect(decodeTcp(ip.payload, ip.source, ip.destination), c.name).not.toBeInstanceOf(DecodeError);
    }
  });
});
