// openPacket on one end of a veth pair; the other end, with an address, is the kernel peer in a
// second namespace. Both namespaces are the test's own.
import { execFileSync } from "node:child_process";
import { formatMac } from "@userstack/ethernet";
import { parseIpv4 } from "@userstack/ipv4";
import { missing, type Netns, withNetns } from "@userstack/testkit";
import { describe, expect, it } from "vitest";
import { openPacket } from "../src/index.js";
import { EchoResponder } from "./echo-responder.js";
import { eventually, kernelLink, uniqueName } from "./kernel-side.js";
import { udpChecksumOk } from "./udp-checksum.js";

const skip = missing({ root: true, tools: ["ip", "ping", "ethtool", "python3"] });
const STACK_IP = parseIpv4("10.0.2.2")!;

/** A veth pair: `peer` in `kernelNs` with 10.0.2.1/24, `ours` in `stackNs` with no address; both up. */
async function vethPair(kernelNs: Netns, stackNs: Netns): Promise<{ peer: string; ours: string }> {
  const peer = uniqueName("vk");
  const ours = uniqueName("vs");
  await kernelNs.exec("ip", [
    "link",
    "add",
    peer,
    "type",
    "veth",
    "peer",
    "name",
    ours,
    "netns",
    stackNs.name,
  ]);
  await kernelNs.sh(`ip link set ${peer} up && ip addr add 10.0.2.1/24 dev ${peer}`);
  // No IPv6 on our end: its kernel would otherwise send neighbour discovery and MLD reports of its
  // own through it, which the tests that count what crossed the wire would count too.
  await stackNs.sh(`sysctl -qw net.ipv6.conf.${ours}.disable_ipv6=1 && ip link set ${ours} up`);
  return { peer, ours };
}

const sendUdp = (ns: Netns) =>
  ns.exec("python3", [
    "-c",
    "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(bytes(range(200)), ('10.0.2.2', 9)) for _ in range(3)]",
  ]);

describe.skipIf(skip)("openPacket on a veth pair with the Linux kernel as the peer", () => {
  it("answers ARP and ping with the interface's MAC and never reads back its own frames", async () => {
    await withNetns("us-pk", (kernelNs) =>
      withNetns("us-ps", async (stackNs) => {
        const { peer, ours } = await vethPair(kernelNs, stackNs);
        await kernelNs.exec("ethtool", ["-K", peer, "tx", "off", "tso", "off", "gso", "off"]);
        const link = await openPacket(ours, { netns: stackNs.name });
        try {
          expect(link.medium).toBe("ethernet");
          expect(link.mtu).toBe(1500);
          expect(formatMac(link.mac!)).toBe((await kernelLink(stackNs, ours)).address);
          const responder = new EchoResponder(link, STACK_IP, link.mac);
          link.attach(responder);
          const out = await kernelNs.exec("ping", ["-c", "3", "-i", "0.2", "-W", "2", "10.0.2.2"]);
          expect(out).toMatch(/3 packets transmitted, 3 received, 0% packet loss/);
          expect(responder.sequences).toEqual([1, 2, 3]);
          expect(responder.arpRequests).toBeGreaterThanOrEqual(1);
          const neigh = await kernelNs.exec("ip", ["neigh", "show", "10.0.2.2", "dev", peer]);
          expect(neigh).toContain(`lladdr ${formatMac(link.mac!)}`);
          // PACKET_IGNORE_OUTGOING: the replies we sent did not come back to us.
          expect(link.stats.txFrames).toBeGreaterThanOrEqual(4);
          expect(responder.ownFrames).toBe(0);
          expect(responder.malformed).toBe(0);
          // The UDP checksums from the peer arrive finished once its offloads are off.
          const udp: Uint8Array[] = [];
          link.attach({
            receive: (f) => {
              if (f[12] === 0x08 && f[13] === 0x00 && f[23] === 17) udp.push(f.slice(14));
              responder.receive(f);
            },
            flush: () => responder.flush(),
          });
          await sendUdp(kernelNs);
          expect(await eventually(() => udp.length === 3)).toBe(true);
          for (const d of udp) expect(udpChecksumOk(d)).toBe(true);
          expect(execFileSync("ip", ["-o", "link"], { encoding: "utf8" })).not.toContain(ours);
        } finally {
          await link.close();
        }
      }),
    );
  });

  it("without the documented ethtool line, the peer's UDP checksums arrive unfinished", async () => {
    await withNetns("us-pk", (kernelNs) =>
      withNetns("us-ps", async (stackNs) => {
        const { ours } = await vethPair(kernelNs, stackNs);
        const link = await openPacket(ours, { netns: stackNs.name });
        try {
          const responder = new EchoResponder(link, STACK_IP, link.mac);
          const udp: Uint8Array[] = [];
          link.attach({
            receive: (f) => {
              if (f[12] === 0x08 && f[13] === 0x00 && f[23] === 17) udp.push(f.slice(14));
              responder.receive(f);
            },
            flush: () => responder.flush(),
          });
          await sendUdp(kernelNs);
          expect(await eventually(() => udp.length === 3)).toBe(true);
          for (const d of udp) expect(udpChecksumOk(d)).toBe(false);
        } finally {
          await link.close();
        }
      }),
    );
  });

  it("sendMany sends through sendmmsg: the peer receives every frame that fits, byte for byte, in order", async () => {
    await withNetns("us-pk", (kernelNs) =>
      withNetns("us-ps", async (stackNs) => {
        const { peer, ours } = await vethPair(kernelNs, stackNs);
        const link = await openPacket(ours, { netns: stackNs.name });
        // A second raw socket on the peer end sees exactly what crossed the wire.
        const tap = await openPacket(peer, { netns: kernelNs.name });
        try {
          const seen: Uint8Array[] = [];
          tap.attach({
            receive: (f) => {
              if (f[12] === 0x88 && f[13] === 0xb5) seen.push(f.slice());
            },
            flush() {},
          });
          const frames: Uint8Array[] = [];
          for (let i = 0; i < 150; i++) {
            const len = i === 40 || i === 100 ? 14 + 1501 : 60 + ((i * 97) % 1440);
            const f = new Uint8Array(len);
            f.set(tap.mac!, 0);
            f.set(link.mac!, 6);
            f.set([0x88, 0xb5, i >> 8, i & 255], 12);
            for (let k = 16; k < len; k++) f[k] = (k * 31 + i) & 255;
            frames.push(f);
          }
          const rx0 = (await kernelLink(kernelNs, peer)).stats64.rx.packets;
          link.sendMany(frames);
          expect(link.stats.txFrames).toBe(148);
          expect(link.stats.txOversize).toBe(2);
          expect(await eventually(() => seen.length === 148)).toBe(true);
          const fitting = frames.filter((_, i) => i !== 40 && i !== 100);
          for (const [i, f] of seen.entries())
            expect(Buffer.from(f).equals(Buffer.from(fitting[i]!))).toBe(true);
          expect((await kernelLink(kernelNs, peer)).stats64.rx.packets - rx0).toBe(148);
        } finally {
          await Promise.all([link.close(), tap.close()]);
        }
        link.sendMany([new Uint8Array(60)]);
        expect(link.stats.txDropped).toBe(1);
      }),
    );
  });
});
