// A whole userstack stack on a TAP, the Linux kernel as its neighbour: ARP both ways and ping.
import { formatMac } from "@userstack/ethernet";
import { missing } from "@userstack/testkit";
import { describe, expect, it } from "vitest";
import { KERNEL_IP, STACK_IP, STACK_MAC, withStackOnTap } from "./stack-on-tap.js";

const skip = missing({ root: true, tools: ["ip", "ping"] });

describe.skipIf(skip)("the stack on a TAP, with the kernel as its neighbour", () => {
  it("the kernel resolves the stack's MAC by ARP and ping gets every reply", async () => {
    await withStackOnTap({}, async ({ ns, dev, tap, stack }) => {
      const out = await ns.exec("ping", ["-c", "20", "-i", "0.05", "-W", "2", "-s", "1000", STACK_IP]);
      console.log(out.trim().split("\n").slice(-2).join("\n"));
      expect(out).toMatch(/20 packets transmitted, 20 received, 0% packet loss/);
      expect(out).toContain(`1008 bytes from ${STACK_IP}: icmp_seq=20 ttl=64`);
      // The kernel's neighbour table holds the stack's MAC, learnt from the stack's ARP reply.
      const neigh = await ns.exec("ip", ["neigh", "show", STACK_IP, "dev", dev]);
      expect(neigh).toMatch(
        new RegExp(`^${STACK_IP.replace(/\./g, "\\.")} lladdr ${STACK_MAC} (REACHABLE|STALE|DELAY)`),
      );
      const c = stack.interfaces()[0]!.counters;
      expect(c["arp.requestsReceived"]).toBeGreaterThanOrEqual(1);
      expect(c["arp.repliesSent"]).toBeGreaterThanOrEqual(1);
      expect(c["icmp.echoRequests"]).toBe(20);
      expect(c["icmp.echoReplies"]).toBe(20);
      expect(c["ipv4.badChecksum"]).toBe(0);
      expect(c["link.ethernetMalformed"]).toBe(0);

      // And the other way: the stack resolves the kernel by ARP and pings it.
      const r = await stack.ping(KERNEL_IP, { size: 1000, timeoutMs: 2000 });
      expect(r.bytes).toBe(1000);
      expect(r.ttl).toBe(64);
      const neighbours = stack.interfaces()[0]!.neighbors;
      expect(neighbours).toContainEqual(
        expect.objectContaining({ address: KERNEL_IP, mac: formatMac(tap.kernelMac) }),
      );
    });
  });
});
