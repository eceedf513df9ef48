// What the kernel side sees on the wire: tcpdump captures the TAP inside the namespace while the
// kernel pings the stack and TCP carries 8 MB each way; tshark, checking every IPv4, ICMP and TCP
// checksum, must find no bad checksum and no malformed or erroneous frame — and the capture must be
// whole (no frame dropped by the capturer, every payload byte of both transfers in it).
import { once } from "node:events";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtherType, encodeEthernet, parseMac } from "@userstack/ethernet";
import { encodeIpv4, IpProtocol, parseIpv4 } from "@userstack/ipv4";
import { missing } from "@userstack/testkit";
import { describe, expect, it } from "vitest";
import { createBodyApp } from "./body-app.js";
import { bodyDigest } from "./deterministic-body.js";
import {
  curlDigest,
  end,
  KERNEL_IP,
  kernelSink,
  STACK_IP,
  STACK_MAC,
  type StackOnTap,
  tcpMib,
  uploadFromStack,
  withStackOnTap,
} from "./stack-on-tap.js";

const skip = missing({
  root: true,
  tools: ["ip", "ping", "bash", "curl", "sha256sum", "python3", "tcpdump", "tshark"],
});
const SIZE = 8 * 2 ** 20;

/**
 * The control: one TCP segment (port 4242 → 4243, SYN) whose TCP checksum is deliberately wrong,
 * sent straight through the TAP beside the stack. tshark must flag it, and only it, and the
 * kernel must count it, and only it, in TcpInCsumErrors: proof that both checkers are on.
 */
function badChecksumFrame(kernelMac: Uint8Array): Uint8Array {
  const tcp = new Uint8Array(20);
  tcp.set([0x10, 0x92, 0x10, 0x93], 0); // ports 4242, 4243
  tcp[12] = 5 << 4; // data offset: 5 words
  tcp[13] = 0x02; // SYN
  tcp.set([0xff, 0xff], 14); // window
  tcp.set([0xde, 0xad], 16); // a checksum this segment does not have
  const ip = encodeIpv4(
    { protocol: IpProtocol.Tcp, source: parseIpv4(STACK_IP)!, destination: parseIpv4(KERNEL_IP)!, ttl: 64 },
    tcp,
  );
  return encodeEthernet(
    { destination: kernelMac, source: parseMac(STACK_MAC)!, etherType: EtherType.Ipv4 },
    ip,
  );
}

type InNamespace = Pick<StackOnTap["ns"], "exec">;
const CHECKSUMS = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"];

/** The frames of `pcap` matching a tshark display filter, with every checksum check on. */
async function matching(ns: InNamespace, pcap: string, filter: string): Promise<string[]> {
  const args = [
    "-n",
    "-r",
    pcap,
    ...CHECKSUMS,
    "-Y",
    filter,
    "-T",
    "fields",
    "-e",
    "frame.number",
    "-e",
    "_ws.col.Info",
  ];
  return (await ns.exec("tshark", args, { timeoutMs: 120_000 })).split("\n").filter((l) => l !== "");
}

/** One row per frame: what each checksum check said (1 good, 0 bad, empty: not that protocol). */
interface Row {
  protocols: string;
  ip: string;
  tcp: string;
  icmp: string;
  src: string;
  srcPort: number;
  dstPort: number;
  tcpLen: number;
}

async function rows(ns: InNamespace, pcap: string): Promise<Row[]> {
  const fields = ["frame.protocols", "ip.checksum.status", "tcp.checksum.status", "icmp.checksum.status"];
  fields.push("ip.src", "tcp.srcport", "tcp.dstport", "tcp.len");
  const args = [
    "-n",
    "-r",
    pcap,
    ...CHECKSUMS,
    "-T",
    "fields",
    "-E",
    "separator=/t",
    ...fields.flatMap((f) => ["-e", f]),
  ];
  const out = await ns.exec("tshark", args, { timeoutMs: 120_000 });
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [protocols, ip, tcp, icmp, src, sp, dp, len] = l.split("\t") as string[];
      return {
        protocols: protocols!,
        ip: ip!,
        tcp: tcp!,
        icmp: icmp!,
        src: src!,
        srcPort: Number(sp),
        dstPort: Number(dp),
        tcpLen: Number(len || 0),
      };
    });
}

/** Resolves once `file` has stopped growing for 300 ms (the capturer caught up), or after 10 s. */
async function settled(file: string): Promise<void> {
  let size = -1;
  for (let i = 0; i < 100; i++) {
    const now = (await stat(file)).size;
    if (now === size && i >= 3) return;
    size = now;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(skip)("the stack's frames as the kernel side captures them", () => {
  it("a pcap of ping and 8 MB each way has no bad checksum and no malformed frame", async () => {
    const dir = await mkdtemp(join(tmpdir(), "us-pcap-"));
    try {
      await withStackOnTap({}, async ({ ns, dev, tap, stack }) => {
        const pcap = join(dir, "kernel-side.pcap");
        // -Z root: Debian's tcpdump would otherwise drop to its own user, who cannot write here.
        // --immediate-mode: every frame is written at once (no 1 s block timeout to wait for at
        // the end); its ring has one slot per frame of the snapshot length, so -s 1600 (whole
        // 1514-byte frames) lets -B 64 MiB hold ~40,000 frames, more than the test sends.
        const dump = ns.spawn("tcpdump", [
          "-i",
          dev,
          "-n",
          "-s",
          "1600",
          "-B",
          "65536",
          "-U",
          "--immediate-mode",
          "-Z",
          "root",
          "-w",
          pcap,
        ]);
        let dumpErr = "";
        dump.stderr!.on("data", (d) => (dumpErr += d));
        try {
          await new Promise<void>((resolve, reject) => {
            dump.stderr!.on("data", () => dumpErr.includes("listening on") && resolve());
            dump.once("exit", (code) => reject(new Error(`tcpdump exited (${code}): ${dumpErr}`)));
          });
          const ping = await ns.exec("ping", ["-c", "5", "-i", "0.05", "-W", "2", STACK_IP]);
          expect(ping).toMatch(/5 packets transmitted, 5 received/);
          const app = createBodyApp();
          stack.createServer((socket) => app.emit("connection", socket)).listen(80);
          const down = await curlDigest(ns, `http://${STACK_IP}/body?size=${SIZE}&seed=7`, 60);
          expect(down.sha256).toBe(bodyDigest(7, SIZE));
          const sink = await kernelSink(ns, 9000, 60);
          try {
            expect(await uploadFromStack(stack, 9000, 8, SIZE)).toBe(`${SIZE} ${bodyDigest(8, SIZE)}\n`);
          } finally {
            await end(sink.child);
          }
          tap.send(badChecksumFrame(tap.kernelMac));
          await settled(pcap);
        } finally {
          // SIGINT by PID: tcpdump flushes the file and prints its counts.
          const exited = once(dump, "exit");
          dump.kill("SIGINT");
          await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
          await end(dump);
        }
        console.log(dumpErr.trim().split("\n").slice(-3).join("; "));
        expect(dumpErr).toMatch(/\n0 packets dropped by kernel/);
        const [, captured, received] =
          /(\d+) packets captured\n(\d+) packets received by filter/.exec(dumpErr) ?? [];
        expect(captured).toBe(received);
        // The kernel verified every segment of the stack and found one bad checksum: the control's.
        expect(await tcpMib(ns, "InCsumErrors")).toBe(1);

        const frames = await rows(ns, pcap);
        const of = (proto: string) => frames.filter((f) => f.protocols.split(":").includes(proto));
        const [ipv4, tcp, icmp, arp] = [of("ip"), of("tcp"), of("icmp"), of("arp")];
        console.log(
          `${frames.length} frames: ${ipv4.length} IPv4 (${tcp.length} TCP, ${icmp.length} ICMP), ${arp.length} ARP`,
        );
        expect(icmp.length).toBe(10);
        expect(arp.length).toBeGreaterThanOrEqual(2);
        expect(tcp.length).toBeGreaterThan((2 * SIZE) / 1460);
        // Every checksum was verified, and verified good.
        expect(ipv4.filter((f) => f.ip !== "1")).toEqual([]);
        const badTcp = tcp.filter((f) => f.tcp !== "1");
        expect(badTcp).toEqual([expect.objectContaining({ tcp: "0", srcPort: 4242, dstPort: 4243 })]);
        expect(icmp.filter((f) => f.icmp !== "1")).toEqual([]);
        // Nothing malformed, no bad checksum, no expert error: tshark's own judgement of each frame.
        const bad =
          "_ws.malformed || ip.checksum.status == 0 || tcp.checksum.status == 0 || icmp.checksum.status == 0 || _ws.expert.severity == error";
        const flagged = await matching(ns, pcap, bad);
        expect(flagged, flagged.join("\n")).toHaveLength(1);
        expect(flagged[0]).toMatch(/4242 → 4243 \[SYN\].*\[TCP CHECKSUM INCORRECT\]/);
        // The capture is whole: both transfers' payload bytes are all in it, at least once.
        const bytes = (keep: (f: Row) => boolean) => tcp.filter(keep).reduce((sum, f) => sum + f.tcpLen, 0);
        expect(bytes((f) => f.src === STACK_IP && f.srcPort === 80)).toBeGreaterThan(SIZE);
        expect(bytes((f) => f.src === STACK_IP && f.dstPort === 9000)).toBeGreaterThanOrEqual(SIZE);
        expect(bytes((f) => f.src === KERNEL_IP && f.dstPort === 80)).toBeGreaterThan(0);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
