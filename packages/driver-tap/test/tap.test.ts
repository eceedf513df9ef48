// openTap against the Linux kernel: every device lives in a namespace the test creates and deletes.
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { formatMac, parseMac } from "@userstack/ethernet";
import { parseIpv4 } from "@userstack/ipv4";
import { missing, withNetns } from "@userstack/testkit";
import { describe, expect, it } from "vitest";
import { openTap } from "../src/index.js";
import { reactor } from "../src/reactor.js";
import { EchoResponder } from "./echo-responder.js";
import { eventually, kernelLink, uniqueName } from "./kernel-side.js";
import { closeFd, openTapWithOffloads, readAll } from "./raw-tap.js";
import { udpChecksumOk } from "./udp-checksum.js";

const skip = missing({ root: true, tools: ["ip", "ping"] });
const STACK_MAC = parseMac("02:00:00:00:00:02")!;
const STACK_IP = parseIpv4("10.0.0.2")!;

/** An Ethernet frame to the kernel side of `len` bytes in all, with an experimental EtherType. */
function frameTo(kernelMac: Uint8Array, len: number, tagged = false): Uint8Array {
  const f = new Uint8Array(len);
  f.set(kernelMac, 0);
  f.set(STACK_MAC, 6);
  if (tagged) {
    f.set([0x81, 0x00, 0x00, 0x2a, 0x88, 0xb5], 12); // 802.1Q VLAN 42, then 0x88b5 (IEEE 802 local experimental)
  } else {
    f.set([0x88, 0xb5], 12);
  }
  return f;
}

describe.skipIf(skip)("openTap with the Linux kernel as the peer", () => {
  it("the kernel resolves our MAC by ARP and ping gets the replies we build", async () => {
    await withNetns("us-tap", async (ns) => {
      const name = uniqueName("ut");
      const tap = await openTap(name, { netns: ns.name, mac: STACK_MAC });
      try {
        expect(tap.medium).toBe("ethernet");
        expect(tap.mtu).toBe(1500);
        expect(tap.name).toBe(name);
        expect(formatMac(tap.mac!)).toBe("02:00:00:00:00:02");
        const responder = new EchoResponder(tap, STACK_IP, STACK_MAC);
        tap.attach(responder);
        await ns.sh(`ip link set ${name} up && ip addr add 10.0.0.1/24 dev ${name}`);
        const kernel = await kernelLink(ns, name);
        expect(kernel.address).toBe(formatMac(tap.kernelMac));

        const out = await ns.exec("ping", ["-c", "3", "-i", "0.2", "-W", "2", "10.0.0.2"]);
        expect(out).toMatch(/3 packets transmitted, 3 received, 0% packet loss/);
        expect(responder.arpRequests).toBeGreaterThanOrEqual(1);
        expect(responder.sequences).toEqual([1, 2, 3]);
        expect(responder.malformed).toBe(0);
        // The kernel took our hand-built ARP reply: its neighbour table holds our MAC.
        const neigh = await ns.exec("ip", ["neigh", "show", "10.0.0.2", "dev", name]);
        expect(neigh).toContain("lladdr 02:00:00:00:00:02");
        // Every batch ended with a flush, and the counters agree with what the receiver saw.
        expect(responder.flushes).toBe(tap.stats.rxBatches);
        expect(tap.stats.rxFrames).toBe(responder.frames);
        expect(tap.stats.txFrames).toBe(responder.arpReplies + 3);
        expect((await kernelLink(ns, name)).stats64.rx.packets).toBe(tap.stats.txFrames);
      } finally {
        await tap.close();
      }
      // A device the link created goes away with it.
      await expect(ns.exec("ip", ["link", "show", name])).rejects.toThrow(/does not exist/);
    });
  });

  it("serves several links from one poll: two TAPs in two namespaces pinged at the same time", async () => {
    await withNetns("us-tap", (nsA) =>
      withNetns("us-tap", async (nsB) => {
        const [a, b] = [uniqueName("ut"), uniqueName("ut")];
        const tapA = await openTap(a, { netns: nsA.name, mac: STACK_MAC });
        const tapB = await openTap(b, { netns: nsB.name, mac: STACK_MAC });
        try {
          const ra = new EchoResponder(tapA, STACK_IP, STACK_MAC);
          const rb = new EchoResponder(tapB, STACK_IP, STACK_MAC);
          tapA.attach(ra);
          tapB.attach(rb);
          expect(reactor.state().watched).toBe(2); // one poll, one thread-pool thread, for both
          await nsA.sh(`ip link set ${a} up && ip addr add 10.0.0.1/24 dev ${a}`);
          await nsB.sh(`ip link set ${b} up && ip addr add 10.0.0.1/24 dev ${b}`);
          const ping = (ns: typeof nsA) => ns.exec("ping", ["-c", "50", "-i", "0.01", "-W", "2", "10.0.0.2"]);
          const [outA, outB] = await Promise.all([ping(nsA), ping(nsB)]);
          expect(outA).toMatch(/50 packets transmitted, 50 received/);
          expect(outB).toMatch(/50 packets transmitted, 50 received/);
          expect(ra.sequences).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
          expect(rb.sequences).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        } finally {
          await Promise.all([tapA.close(), tapB.close()]);
        }
      }),
    );
  });

  it("makes the device inside the namespace only: the root namespace never sees it", async () => {
    await withNetns("us-tap", async (ns) => {
      const name = uniqueName("ut");
      const before = statSync("/proc/thread-self/ns/net").ino;
      const tap = await openTap(name, { netns: ns.name });
      try {
        // The calling thread is back in its own namespace.
        expect(statSync("/proc/thread-self/ns/net").ino).toBe(before);
        expect(statSync("/proc/self/ns/net").ino).toBe(before);
        const inside = await ns.exec("ip", ["-o", "link", "show", name]);
        expect(inside).toContain(formatMac(tap.kernelMac));
        const root = execFileSync("ip", ["-o", "link"], { encoding: "utf8" });
        expect(root).not.toContain(name);
        expect(root).not.toContain(formatMac(tap.kernelMac));
      } finally {
        await tap.close();
      }
    });
  });

  it("sets the device MTU and refuses frames whose payload exceeds it", async () => {
    await withNetns("us-tap", async (ns) => {
      const name = uniqueName("ut");
      const tap = await openTap(name, { netns: ns.name, mtu: 1280 });
      try {
        expect(tap.mtu).toBe(1280);
        expect((await kernelLink(ns, name)).mtu).toBe(1280);
        await ns.exec("ip", ["link", "set", name, "up"]);
        const rx0 = (await kernelLink(ns, name)).stats64.rx.packets;
        tap.send(frameTo(tap.kernelMac, 14 + 1280)); // fits
        tap.send(frameTo(tap.kernelMac, 14 + 1281)); // one byte too many: dropped here
        tap.send(frameTo(tap.kernelMac, 18 + 1280, true)); // a VLAN tag does not count against the MTU
        tap.send(frameTo(tap.kernelMac, 18 + 1281, true));
        tap.send(new Uint8Array(13)); // shorter than a header
        expect(tap.stats.txFrames).toBe(2);
        expect(tap.stats.txOversize).toBe(3);
        // The kernel counted exactly the two frames that fit, with their sizes.
        const k = await kernelLink(ns, name);
        expect(k.stats64.rx.packets - rx0).toBe(2);
      } finally {
        await tap.close();
      }
    });
  });

  it("drops, and counts, frames the kernel sends beyond our MTU", async () => {
    await withNetns("us-tap", async (ns) => {
      const name = uniqueName("ut");
      const tap = await openTap(name, { netns: ns.name, mac: STACK_MAC });
      try {
        const responder = new EchoResponder(tap, STACK_IP, STACK_MAC);
        tap.attach(responder);
        await ns.sh(`ip link set ${name} up && ip addr add 10.0.0.1/24 dev ${name}`);
        await ns.exec("ping", ["-c", "1", "-W", "2", "10.0.0.2"]);
        // Someone raises the kernel side's MTU behind the link's back; a 1900-byte ping no longer fits.
        await ns.exec("ip", ["link", "set", name, "mtu", "2000"]);
        const out = await ns
          .exec("ping", ["-c", "1", "-W", "1", "-s", "1872", "10.0.0.2"])
          .catch((e: { stdout?: string }) => e.stdout ?? "");
        expect(out).toMatch(/1 packets transmitted, 0 received/);
        expect(tap.stats.rxOversize).toBe(1);
        expect(responder.echoSizes).toEqual([64]);
      } finally {
        await tap.close();
      }
    });
  });

  it("delivers a flood in capped batches, each ended by flush, and keeps the event loop turning", async () => {
    await withNetns("us-tap", async (ns) => {
      const name = uniqueName("ut");
      const tap = await openTap(name, { netns: ns.name, mac: STACK_MAC, batch: 8 });
      try {
        const responder = new EchoResponder(tap, STACK_IP, STACK_MAC);
        let largest = 0;
        let inBatch = 0;
        tap.attach({
          receive(frame) {
            inBatch++;
            responder.receive(frame);
          },
          flush() {
            largest = Math.max(largest, inBatch);
            inBatch = 0;
            responder.flush();
          },
        });
        await ns.sh(`ip link set ${name} up && ip addr add 10.0.0.1/24 dev ${name}`);
        let ticks = 0;
        const timer = setInterval(() => ticks++, 5);
        const out = await ns.exec("ping", ["-f", "-l", "32", "-c", "4000", "-w", "20", "-q", "10.0.0.2"]);
        clearInterval(timer);
        // -c stops ping once 4000 replies are in; the preload keeps up to 32 more requests in
        // flight, whose replies may or may not arrive before it exits.
        const [, sent, received] = /(\d+) packets transmitted, (\d+) received/.exec(out)!.map(Number);
        expect(received).toBeGreaterThanOrEqual(4000);
        expect(sent! - received!).toBeLessThanOrEqual(32);
        expect(await eventually(() => responder.sequences.length === sent)).toBe(true);
        expect(largest).toBeLessThanOrEqual(8);
        expect(largest).toBeGreaterThan(1); // the preload made real batches
        expect(ticks).toBeGreaterThan(0);
        expect(responder.malformed).toBe(0);
      } finally {
        await tap.close();
      }
    });
  });

  it.skipIf(missing({ tools: ["python3", "ethtool"] }))(
    "switches offloads off on a persistent device where they stuck, so UDP checksums arrive finished",
    async () => {
      await withNetns("us-tap", async (ns) => {
        const name = uniqueName("ut");
        const sendUdp = () =>
          ns.exec("python3", [
            "-c",
            "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(bytes(range(200)), ('10.0.0.2', 9)) for _ in range(3)]",
          ]);
        const udpOf = (frames: Uint8Array[]) =>
          frames.filter((f) => f[12] === 0x08 && f[13] === 0x00 && f[23] === 17).map((f) => f.subarray(14));
        // A persistent device, as `userstack-tap setup` makes, used once by a program that turned
        // offloads on: the kernel now leaves UDP checksums unfinished for the device's reader.
        await ns.exec("ip", ["tuntap", "add", "dev", name, "mode", "tap"]);
        await ns.sh(`ip link set ${name} up && ip addr add 10.0.0.1/24 dev ${name}`);
        await ns.exec("ip", ["neigh", "add", "10.0.0.2", "lladdr", "02:00:00:00:00:02", "dev", name]);
        const raw = openTapWithOffloads(name, ns.name);
        await sendUdp();
        const partial = udpOf(readAll(raw));
        closeFd(raw);
        expect(partial.length).toBe(3);
        for (const d of partial) expect(udpChecksumOk(d)).toBe(false);
        expect(await ns.exec("ethtool", ["-k", name])).toMatch(/^tx-checksumming: on/m);

        const tap = await openTap(name, { netns: ns.name, mac: STACK_MAC });
        try {
          expect(await ns.exec("ethtool", ["-k", name])).toMatch(/^tx-checksumming: off/m);
          const frames: Uint8Array[] = [];
          tap.attach({ receive: (f) => frames.push(f.slice()), flush() {} });
          await sendUdp();
          expect(await eventually(() => udpOf(frames).length === 3)).toBe(true);
          for (const d of udpOf(frames)) expect(udpChecksumOk(d)).toBe(true);
        } finally {
          await tap.close();
        }
        // The persistent device outlives the link.
        expect(await ns.exec("ip", ["-o", "link", "show", name])).toContain(name);
      });
    },
  );
});
