// The `gso` option (IFF_VNET_HDR): the stack's merged TCP frames (Link.sendSegmented) go to the
// kernel in one write each. Checked against the kernel: it must cut a merged frame into correct
// segments when it forwards one (tshark on the far side), count one packet per write, and deliver
// every byte in order to its own sockets.
import { existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtherType, encodeEthernet, parseMac } from "@userstack/ethernet";
import { encodeIpv4, IpProtocol, parseIpv4, pseudoHeaderSum } from "@userstack/ipv4";
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
  tools: ["ip", "ping", "sysctl", "ethtool", "bash", "curl", "sha256sum", "python3", "tcpdump", "tshark"],
});
const SIZE = 64 * 2 ** 20;

/**
 * A merged TCP frame as a stack hands it to `sendSegmented`: 10.0.0.2:5000 → 10.0.3.2:6000,
 * `pieces` × `mss` bytes of payload under one header (ACK, PSH), IPv4 checksum complete and the TCP
 * checksum field holding the pseudo-header sum of the whole (the virtio-net convention).
 */
function mergedFrame(kernelMac: Uint8Array, pieces: number, mss: number): Uint8Array {
  const tcp = new Uint8Array(20 + pieces * mss);
  const v = new DataView(tcp.buffer);
  v.setUint16(0, 5000);
  v.setUint16(2, 6000);
  v.setUint32(4, 1000);
  v.setUint32(8, 1);
  tcp[12] = 5 << 4;
  tcp[13] = ACK | PSH;
  v.setUint16(14, 1000);
  for (let i = 20; i < tcp.length; i++) tcp[i] = (i * 7) & 0xff;
  const [src, dst] = [parseIpv4(STACK_IP)!, parseIpv4("10.0.3.2")!];
  v.setUint16(16, pseudoHeaderSum(src, dst, 6, tcp.length));
  const ip = encodeIpv4(
    {
      protocol: IpProtocol.Tcp,
      source: src,
      destination: dst,
      ttl: 64,
      dontFragment: true,
      identification: 100,
    },
    tcp,
  );
  return encodeEthernet(
    { destination: kernelMac, source: parseMac(STACK_MAC)!, etherType: EtherType.Ipv4 },
    ip,
  );
}

const ACK = 0x10;
const PSH = 0x08;

describe.skipIf(skip)("gso: the stack's merged TCP frames go to the kernel in one write each", () => {
  it("the kernel cuts a merged frame into checksummed segments when it forwards it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "us-gso-"));
    try {
      await withNetns("us-gso", (a) =>
        withNetns("us-gso", async (b) => {
          const name = uniqueName("ug");
          const tap = await openTap(name, { netns: a.name, gso: true });
          try {
            expect(tap.segmentationOffload).toBe(65535);
            tap.attach({ receive() {}, flush() {} });
            await a.exec("sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
            await a.exec("sysctl", ["-qw", `net.ipv6.conf.${name}.disable_ipv6=1`]);
            await a.sh(`ip addr add ${KERNEL_IP}/24 dev ${name} && ip link set ${name} up`);
            // A router: the TAP's kernel side forwards to namespace b over a veth that does no
            // segmentation offload itself, so the kernel must cut the merged frame in software.
            await a.sh(
              `ip link add va type veth peer name vb netns ${b.name} && ip addr add 10.0.3.1/24 dev va && ` +
                "ip link set va up && ethtool -K va tso off gso off tx off >/dev/null",
            );
            await b.sh("ip addr add 10.0.3.2/24 dev vb && ip link set vb up");
            await a.exec("ping", ["-c", "1", "-W", "2", "10.0.3.2"]); // resolves b's MAC first
            const pcap = join(dir, "forwarded.pcap");
            const dump = b.spawn("tcpdump", [
              ...["-i", "vb", "-n", "-s", "0", "-B", "16384", "-U", "--immediate-mode"],
              ...["-Z", "root", "-w", pcap, "tcp"],
            ]);
            let dumpErr = "";
            dump.stderr!.on("data", (d) => (dumpErr += d));
            try {
              await eventually(() => dumpErr.includes("listening on"), 10_000);
              tap.sendSegmented(mergedFrame(tap.kernelMac, 3, 1000), 1000);
              // Not TCP over IPv4: refused.
              tap.sendSegmented(new Uint8Array(100), 1000);
              expect(tap.stats).toMatchObject({ txFrames: 1, txSegmented: 1, txOversize: 1, txDropped: 0 });
              expect((await kernelLink(a, name)).stats64.rx.packets).toBe(1);
              // Three segments in the file (24 + 3 × (16 + 1054) bytes).
              await eventually(() => existsSync(pcap) && statSync(pcap).size >= 24 + 3 * 1070, 5000);
              await sleep(300); // anything after the three would be a defect: give it time to show
            } finally {
              dump.kill("SIGINT");
              await eventually(() => dump.exitCode !== null, 5000);
              await end(dump);
            }
            const args = ["-n", "-r", pcap, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"];
            const fields = [
              "tcp.seq_raw",
              "tcp.len",
              "tcp.flags.push",
              "ip.id",
              "ip.checksum.status",
              "tcp.checksum.status",
            ];
            const out = await b.exec("tshark", [
              ...args,
              "-T",
              "fields",
              ...fields.flatMap((f) => ["-e", f]),
            ]);
            // Each piece has its own sequence number, IPv4 identification and complete checksums;
            // PSH only on the last, as a TSO-capable NIC would send them.
            expect(out.trim().split("\n")).toEqual([
              "1000\t1000\t0\t0x0064\t1\t1",
              "2000\t1000\t0\t0x0065\t1\t1",
              "3000\t1000\t1\t0x0066\t1\t1",
            ]);
          } finally {
            await tap.close();
          }
        }),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("curl downloads 64 MB from a stack on a gso TAP byte-exact, in a few thousand writes", async () => {
    await withStackOnTap({ gso: true }, async ({ ns, dev, tap, stack }) => {
      const app = createBodyApp();
      stack.createServer((socket) => app.emit("connection", socket)).listen(80);
      const r = await curlDigest(ns, `http://${STACK_IP}/body?size=${SIZE}&seed=21`, 60);
      const s = tap.stats;
      const segments = stack.interfaces()[0]!.counters["link.tcpSent"]!;
      console.log(
        `gso download: ${((r.bytes * 8) / r.seconds / 1e6).toFixed(0)} Mbit/s, ${segments} TCP segments in ${s.txFrames} writes (${s.txSegmented} merged frames)`,
      );
      expect(r.sha256).toBe(bodyDigest(21, SIZE));
      expect(s.txSegmented).toBeGreaterThan(0);
      expect(s.txFrames).toBeLessThan(segments / 4);
      // The kernel took each write as one packet, and found every checksum it checks good.
      expect((await kernelLink(ns, dev)).stats64.rx.packets).toBe(s.txFrames);
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
      expect(tap.stats.txFrames).toBeLessThan(stack.interfaces()[0]!.counters["link.tcpSent"]! / 4);
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
        expect(tun.stats.txFrames).toBeLessThan(stack.interfaces()[0]!.counters["link.tcpSent"]! / 4);
        expect((await kernelLink(ns, name)).stats64.rx.packets).toBe(tun.stats.txFrames);
        expect(await tcpMib(ns, "InCsumErrors")).toBe(0);
      } finally {
        await stack.close();
      }
    });
  });
});
