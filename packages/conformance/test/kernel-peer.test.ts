// The ARP, IPv4 and ICMP engines, composed by a minimal host (engine-host.ts) on a TAP device, with
// the Linux kernel as the peer: its ping, its UDP socket and its ICMP errors. Everything lives in a
// namespace the test creates and deletes.
import { randomBytes } from "node:crypto";
import { openTap } from "@userstack/driver-tap";
import { parseMac } from "@userstack/ethernet";
import { parseCidr, parseIpv4 } from "@userstack/ipv4";
import { missing, type Netns, withNetns } from "@userstack/testkit";
import { describe, expect, it } from "vitest";
import { EngineHost } from "./engine-host.js";

const skip = missing({ root: true, tools: ["ip", "ping", "python3"] });
const OUR_MAC = parseMac("02:00:00:00:77:02")!;
const KERNEL = parseIpv4("10.77.0.1")!;
const US = parseIpv4("10.77.0.2")!;

async function eventually(done: () => boolean, ms = 8000): Promise<boolean> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** A host of our engines on a fresh TAP whose kernel side is 10.77.0.1/24, inside `ns`. */
async function hostIn(ns: Netns): Promise<EngineHost> {
  const name = `uc${randomBytes(3).toString("hex")}`;
  const tap = await openTap(name, { netns: ns.name, mac: OUR_MAC });
  const host = new EngineHost(tap, OUR_MAC, parseCidr("10.77.0.2/24")!);
  await ns.sh(`ip link set ${name} up && ip addr add 10.77.0.1/24 dev ${name}`);
  host.start();
  return host;
}

describe.skipIf(skip)("the engines with the Linux kernel as the peer", () => {
  it("answer the kernel's pings, small and fragmented, after answering its ARP", async () => {
    await withNetns("us-conf", async (ns) => {
      const host = await hostIn(ns);
      try {
        const small = await ns.exec("ping", ["-c", "3", "-i", "0.2", "-W", "2", "10.77.0.2"]);
        expect(small).toMatch(/3 packets transmitted, 3 received, 0% packet loss/);
        // 3000 bytes of data: the kernel fragments the request, we reassemble it; we fragment the
        // reply (MTU 1500), the kernel reassembles it and checks the echoed data.
        const big = await ns.exec("ping", ["-c", "2", "-i", "0.2", "-W", "2", "-s", "3000", "10.77.0.2"]);
        expect(big).toMatch(/2 packets transmitted, 2 received, 0% packet loss/);
        expect(host.arp.stats.repliesSent).toBeGreaterThanOrEqual(1);
        expect(host.icmp.stats.echoReplies).toBe(5);
        expect(host.ip.reassembly.stats.reassembled).toBe(2);
        expect(host.ip.stats.fragmentsSent).toBe(6);
        expect(host.ip.stats.badChecksum + host.ip.stats.truncated + host.icmp.stats.malformed).toBe(0);
        const neigh = await ns.exec("ip", ["neigh", "show", "10.77.0.2"]);
        expect(neigh).toContain("lladdr 02:00:00:00:77:02");
      } finally {
        await host.close();
      }
    });
  });

  it("resolve the kernel by ARP and measure its echo replies, small and fragmented", async () => {
    await withNetns("us-conf", async (ns) => {
      const host = await hostIn(ns);
      try {
        expect(host.ping(KERNEL, 56)).toBe(0);
        expect(host.ping(KERNEL, 3000)).toBe(1);
        expect(await eventually(() => host.replies.length === 2)).toBe(true);
        expect(host.replies.map((r) => [r.sequence, r.bytes, r.ttl])).toEqual([
          [0, 56, 64],
          [1, 3000, 64],
        ]);
        for (const r of host.replies) expect(r.rttMs).toBeGreaterThan(0);
        expect(host.arp.stats.requestsSent).toBe(1);
        expect(host.arp.entry(KERNEL)?.state).toBe("reachable");
        expect(host.ip.reassembly.stats.reassembled).toBe(1); // the kernel fragmented its 3008-byte reply
        expect(host.timeouts).toEqual([]);
      } finally {
        await host.close();
      }
    });
  });

  it("refuse a kernel UDP socket with port unreachable, which it turns into ECONNREFUSED", async () => {
    await withNetns("us-conf", async (ns) => {
      const host = await hostIn(ns);
      try {
        const script = [
          "import socket",
          "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
          "s.settimeout(3)",
          "s.connect(('10.77.0.2', 9))",
          "s.send(b'hello')",
          "try:",
          "    s.recv(100); print('data')",
          "except ConnectionRefusedError:",
          "    print('refused')",
          "except socket.timeout:",
          "    print('timeout')",
        ].join("\n");
        const out = await ns.exec("python3", ["-c", script]);
        expect(out.trim()).toBe("refused");
        expect(host.icmp.stats.unreachableSent).toBe(1);
      } finally {
        await host.close();
      }
    });
  });

  it("report the kernel's port unreachable as ECONNREFUSED for the datagram we sent", async () => {
    await withNetns("us-conf", async (ns) => {
      const host = await hostIn(ns);
      try {
        expect(host.sendUdp(KERNEL, 40000, 9, new TextEncoder().encode("hi"))).toBe("sent");
        expect(await eventually(() => host.errors.length === 1)).toBe(true);
        expect(host.errors[0]).toMatchObject({
          type: 3,
          code: 3,
          errno: "ECONNREFUSED",
          hard: true,
          reporter: KERNEL,
          protocol: 17,
          source: US,
          destination: KERNEL,
          sourcePort: 40000,
          destinationPort: 9,
        });
      } finally {
        await host.close();
      }
    });
  });

  it("give up on an address nobody answers after 3 ARP requests, reporting the queued datagram", async () => {
    await withNetns("us-conf", async (ns) => {
      const host = await hostIn(ns);
      try {
        const ghost = parseIpv4("10.77.0.99")!;
        host.ping(ghost, 56, 10_000);
        expect(await eventually(() => host.unreachable.length === 1, 6000)).toBe(true);
        expect(host.unreachable).toEqual([{ ip: ghost, packets: 1 }]);
        expect(host.arp.stats).toMatchObject({ requestsSent: 3, failures: 1, failedPackets: 1 });
      } finally {
        await host.close();
      }
    });
  });
});
