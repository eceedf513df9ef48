// The `gso` option: bursts of TCP segments merged into GSO writes (IFF_VNET_HDR), checked against
// the kernel — which must accept every merged frame (its checksum counters, tshark on its side),
// count one packet per write, and deliver every byte in order to its own sockets.
import { existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtherType, encodeEthernet, parseMac } from "@userstack/ethernet";
import { encodeIpv4, IpProtocol, internetChecksum, parseIpv4, pseudoHeaderSum } from "@userstack/ipv4";
import { createStack } from "@userstack/sockets";
import { missing, withNetns } from "@userstack/testkit";
import { describe, expect, it } from "vitest";
import { openTap, openTun } from "../src/index.js";
import { createBodyApp } from "./body-app.js";
import { bodyDigest } from "./deterministic-body.js";
import { eventually, kernelLink, sleep, uniqueName } from "./kernel-side.js";
import {
  curlDigest,
  end,
  KERNEL_IP,
  kernelSink,
  STACK_IP,
  STACK_MAC,
  tcpMib,
  uploadFromStack,
  withStackOnTap,
} from "./stack-on-tap.js";

const skip = missing({
  root: true,
  tools: ["ip", "bash", "curl", "sha256sum", "python3", "tcpdump", "tshark"],
});
const SIZE = 64 * 2 ** 20;

/** A TCP segment 10.0.0.2:`port` → 10.0.0.1:6000 in an Ethernet frame, checksums complete. */
function segment(
  kernelMac: Uint8Array,
  port: number,
  seq: number,
  length: number,
  flags: number,
): Uint8Array {
  const tcp = new Uint8Array(20 + length);
  const v = new DataView(tcp.buffer);
  v.setUint16(0, port);
  v.setUint16(2, 6000);
  v.setUint32(4, seq);
  v.setUint32(8, 1);
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  v.setUint16(14, 1000);
  for (let i = 20; i < tcp.length; i++) tcp[i] = (seq + i) & 0xff;
  const [src, dst] = [parseIpv4(STACK_IP)!, parseIpv4(KERNEL_IP)!];
  v.setUint16(16, internetChecksum(tcp, 0, tcp.length, pseudoHeaderSum(src, dst, 6, tcp.length)));
  const ip = encodeIpv4(
    { protocol: IpProtocol.Tcp, source: src, destination: dst, ttl: 64, dontFragment: true },
    tcp,
  );
  return encodeEthernet(
    { destination: kernelMac, source: parseMac(STACK_MAC)!, etherType: EtherType.Ipv4 },
    ip,
  );
}

const ACK = 0x10;
const PSH = 0x08;

describe.skipIf(skip)("gso: TCP bursts merged into GSO writes the kernel accepts", () => {
  it("merges what GRO would merge, and nothing else; every merged frame verifies", async () => {
    const dir = await mkdtemp(join(tmpdir(), "us-gso-"));
    try {
      await withNetns("us-gso", async (ns) => {
        const name = uniqueName("ug");
        const tap = await openTap(name, { netns: ns.name, gso: true });
        try {
          tap.attach({ receive() {}, flush() {} });
          await ns.exec("sysctl", ["-qw", `net.ipv6.conf.${name}.disable_ipv6=1`]);
          await ns.sh(`ip addr add ${KERNEL_IP}/24 dev ${name} && ip link set ${name} up`);
          const pcap = join(dir, "gso.pcap");
          // --immediate-mode: each frame is written as it comes (no 1 s block timeout to wait out).
          const dump = ns.spawn("tcpdump", [
            ...["-i", name, "-n", "-s", "0", "-B", "16384", "-U", "--immediate-mode"],
            ...["-Z", "root", "-Q", "in", "-w", pcap],
          ]);
          let dumpErr = "";
          dump.stderr!.on("data", (d) => (dumpErr += d));
          try {
            await eventually(() => dumpErr.includes("listening on"), 10_000);
            const m = tap.kernelMac;
            // One turn of the event loop: runs are [1,2,3] (3 ends with PSH), [4] (5 leaves a
            // gap), [5] (6 is another connection), [6,7] (7 is shorter: the run ends), [8].
            const frames = [
              segment(m, 5000, 1000, 100, ACK),
              segment(m, 5000, 1100, 100, ACK),
              segment(m, 5000, 1200, 100, ACK | PSH),
              segment(m, 5000, 1300, 100, ACK),
              segment(m, 5000, 1500, 100, ACK),
              segment(m, 5001, 1600, 100, ACK),
              segment(m, 5001, 1700, 50, ACK),
              segment(m, 5001, 1750, 100, ACK),
            ];
            for (const f of frames) tap.send(f);
            await Promise.resolve();
            expect(tap.stats).toMatchObject({ txFrames: 8, txWrites: 5, txMerged: 5, txDropped: 0 });
            expect((await kernelLink(ns, name)).stats64.rx.packets).toBe(5);
            // The five frames in the file (pcap header 24 bytes, 16 per record, 860 bytes of frames).
            await eventually(() => existsSync(pcap) && statSync(pcap).size >= 24 + 5 * 16 + 860, 5000);
            await sleep(300); // anything after the five would be a defect: give it time to show
          } finally {
            dump.kill("SIGINT");
            await eventually(() => dump.exitCode !== null, 5000);
            await end(dump);
          }
          const args = ["-n", "-r", pcap, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"];
          const fields = [
            "tcp.srcport",
            "tcp.seq_raw",
            "tcp.len",
            "tcp.flags.push",
            "ip.checksum.status",
            "tcp.checksum.status",
          ];
          const out = await ns.exec("tshark", [
            ...args,
            "-Y",
            "tcp",
            "-T",
            "fields",
            ...fields.flatMap((f) => ["-e", f]),
          ]);
          expect(out.trim().split("\n")).toEqual([
            "5000\t1000\t300\t1\t1\t1",
            "5000\t1300\t100\t0\t1\t1",
            "5000\t1500\t100\t0\t1\t1",
            "5001\t1600\t150\t0\t1\t1",
            "5001\t1750\t100\t0\t1\t1",
          ]);
          expect(await tcpMib(ns, "InCsumErrors")).toBe(0);
        } finally {
          await tap.close();
        }
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("curl downloads 64 MB from the stack byte-exact, in a few thousand writes", async () => {
    await withStackOnTap({ gso: true }, async ({ ns, dev, tap, stack }) => {
      const app = createBodyApp();
      stack.createServer((socket) => app.emit("connection", socket)).listen(80);
      const r = await curlDigest(ns, `http://${STACK_IP}/body?size=${SIZE}&seed=21`, 60);
      const s = tap.stats;
      console.log(
        `gso download: ${((r.bytes * 8) / r.seconds / 1e6).toFixed(0)} Mbit/s, ${s.txFrames} frames in ${s.txWrites} writes (${s.txMerged} merged)`,
      );
      expect(r.sha256).toBe(bodyDigest(21, SIZE));
      expect(s.txMerged).toBeGreaterThan(s.txFrames / 2);
      expect(s.txWrites).toBeLessThan(s.txFrames / 4);
      // The kernel took each write as one packet, and found every checksum good.
      expect((await kernelLink(ns, dev)).stats64.rx.packets).toBe(s.txWrites);
      expect(await tcpMib(ns, "InCsumErrors")).toBe(0);
      expect(await tcpMib(ns, "InErrs")).toBe(0);
    });
  });

  it("the stack uploads 64 MB to the kernel byte-exact", async () => {
    await withStackOnTap({ gso: true }, async ({ ns, tap, stack }) => {
      const sink = await kernelSink(ns, 9000, 60);
      try {
        expect(await uploadFromStack(stack, 9000, 22, SIZE)).toBe(`${SIZE} ${bodyDigest(22, SIZE)}\n`);
        expect(await sink.report).toEqual({ bytes: SIZE, sha256: bodyDigest(22, SIZE), peer: STACK_IP });
      } finally {
        await end(sink.child);
      }
      expect(tap.stats.txMerged).toBeGreaterThan(tap.stats.txFrames / 2);
      expect(await tcpMib(ns, "InCsumErrors")).toBe(0);
    });
  });

  it("on a TUN (bare IPv4, no Ethernet header) curl downloads 16 MB byte-exact", async () => {
    await withNetns("us-gso", async (ns) => {
      const name = uniqueName("ug");
      const tun = await openTun(name, { netns: ns.name, gso: true });
      const stack = createStack({ link: tun, ipv4: `${STACK_IP}/24` });
      try {
        await ns.sh(`ip addr add ${KERNEL_IP} peer ${STACK_IP} dev ${name} && ip link set ${name} up`);
        const app = createBodyApp();
        stack.createServer((socket) => app.emit("connection", socket)).listen(80);
        const size = 16 * 2 ** 20;
        const r = await curlDigest(ns, `http://${STACK_IP}/body?size=${size}&seed=23`, 60);
        expect(r.sha256).toBe(bodyDigest(23, size));
        expect(tun.stats.txMerged).toBeGreaterThan(tun.stats.txFrames / 2);
        expect((await kernelLink(ns, name)).stats64.rx.packets).toBe(tun.stats.txWrites);
        expect(await tcpMib(ns, "InCsumErrors")).toBe(0);
      } finally {
        await stack.close();
      }
    });
  });
});
