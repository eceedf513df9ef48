// openTun against the Linux kernel: bare IP packets, no Ethernet and no ARP.
import { execFileSync } from "node:child_process";
import { parseIpv4 } from "@userstack/ipv4";
import { missing, withNetns } from "@userstack/testkit";
import { describe, expect, it } from "vitest";
import { openTun } from "../src/index.js";
import { EchoResponder } from "./echo-responder.js";
import { kernelLink, uniqueName } from "./kernel-side.js";

const skip = missing({ root: true, tools: ["ip", "ping"] });
const STACK_IP = parseIpv4("10.0.1.2")!;

describe.skipIf(skip)("openTun with the Linux kernel as the peer", () => {
  it("ping over a point-to-point TUN gets the replies we build, as raw IPv4", async () => {
    await withNetns("us-tun", async (ns) => {
      const name = uniqueName("un");
      const tun = await openTun(name, { netns: ns.name });
      try {
        expect(tun.medium).toBe("ip");
        expect(tun.mtu).toBe(1500);
        expect(tun.mac).toBeUndefined();
        expect(tun.batch).toBe(128);
        const responder = new EchoResponder(tun, STACK_IP);
        tun.attach(responder);
        await ns.sh(`ip link set ${name} up && ip addr add 10.0.1.1 peer 10.0.1.2 dev ${name}`);
        const out = await ns.exec("ping", ["-c", "3", "-i", "0.2", "-W", "2", "10.0.1.2"]);
        expect(out).toMatch(/3 packets transmitted, 3 received, 0% packet loss/);
        expect(responder.sequences).toEqual([1, 2, 3]);
        expect(responder.malformed).toBe(0);
        // Every frame the kernel handed over was an IP packet from byte 0 (IFF_NO_PI: no 4-byte
        // packet-information prefix, whose first nibble would be 0).
        expect([...responder.kinds.keys()].every((k) => k === 0x0800 || k === 0x86dd)).toBe(true);
        expect(responder.kinds.get(0x0800)).toBeGreaterThanOrEqual(3);
        expect(tun.stats.txFrames).toBe(3);
        // The root namespace never had the device.
        expect(execFileSync("ip", ["-o", "link"], { encoding: "utf8" })).not.toContain(name);
      } finally {
        await tun.close();
      }
    });
  });

  it("refuses packets over the MTU and passes one exactly at it", async () => {
    await withNetns("us-tun", async (ns) => {
      const name = uniqueName("un");
      const tun = await openTun(name, { netns: ns.name, mtu: 1400 });
      try {
        expect((await kernelLink(ns, name)).mtu).toBe(1400);
        await ns.sh(`ip link set ${name} up && ip addr add 10.0.1.1 peer 10.0.1.2 dev ${name}`);
        const rx0 = (await kernelLink(ns, name)).stats64.rx.packets;
        const packet = (len: number) => {
          const p = new Uint8Array(len);
          p[0] = 0x45; // IPv4, IHL 5: the kernel counts it whatever the rest holds
          return p;
        };
        tun.send(packet(1400));
        tun.send(packet(1401));
        tun.send(new Uint8Array(0));
        expect(tun.stats.txFrames).toBe(1);
        expect(tun.stats.txOversize).toBe(2);
        expect((await kernelLink(ns, name)).stats64.rx.packets - rx0).toBe(1);
      } finally {
        await tun.close();
      }
    });
  });

  it("keeps the receive slab small for jumbo MTUs by shrinking the default batch", async () => {
    await withNetns("us-tun", async (ns) => {
      const tun = await openTun(uniqueName("un"), { netns: ns.name, mtu: 65535 });
      try {
        expect(tun.mtu).toBe(65535);
        expect(tun.batch).toBe(Math.floor((4 * 1024 * 1024) / 65535));
      } finally {
        await tun.close();
      }
    });
  });
});
