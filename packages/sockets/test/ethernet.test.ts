import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeEthernet, EtherType, encodeEthernet } from "@userstack/ethernet";
import { encodeIpv4, IpProtocol } from "@userstack/ipv4";
import { type Link, MemorySwitch, memoryPair, VirtualClock, withCapture } from "@userstack/link";
import { PcapWriter } from "@userstack/pcap";
import { fileSink } from "@userstack/pcap/node";
import { missing } from "@userstack/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { createStack, type Stack } from "../src/index.js";
import { pattern, runVirtual, sha } from "./harness.js";

let stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.map((s) => s.close()));
  stacks = [];
});

const mac = (n: number) => `02:00:00:00:00:${n.toString(16).padStart(2, "0")}`;

describe("stacks on Ethernet", () => {
  it("resolves by ARP, answers ping, and echoes over TCP between two stacks", async () => {
    const [la, lb] = memoryPair({ medium: "ethernet", mtu: 1500 });
    const a = createStack({ link: la, ipv4: "10.0.0.1/24", mac: mac(1) });
    const b = createStack({ link: lb, ipv4: "10.0.0.2/24", mac: mac(2) });
    stacks.push(a, b);
    const r = await b.ping("10.0.0.1");
    expect(r.bytes).toBe(56);
    expect(r.ttl).toBe(64);
    expect(r.rttMs).toBeGreaterThanOrEqual(0);
    expect(b.interfaces()[0]!.neighbors).toEqual([{ address: "10.0.0.1", mac: mac(1), state: "reachable" }]);
    // a learnt b from b's request (RFC 826: the target creates the entry).
    expect(a.interfaces()[0]!.neighbors?.map((n) => [n.address, n.mac])).toEqual([["10.0.0.2", mac(2)]]);
    a.createServer((s) => s.pipe(s)).listen(7);
    const data = pattern(300_000, 3);
    const got = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = b.connect(7, "10.0.0.1", () => s.end(data));
      s.on("data", (d: Buffer) => chunks.push(d))
        .on("end", () => resolve(Buffer.concat(chunks)))
        .on("error", reject);
    });
    expect(sha(got)).toBe(sha(data));
  });

  it("ten stacks on a learning switch: every pair pings, all echo to one server", async () => {
    const sw = new MemorySwitch({ mtu: 1500 });
    const all = Array.from({ length: 10 }, (_, i) =>
      createStack({ link: sw.port(), ipv4: `10.1.0.${i + 1}/24`, mac: mac(0x10 + i) }),
    );
    stacks.push(...all);
    for (const s of all) {
      for (let j = 1; j <= 10; j++) {
        if (`10.1.0.${j}` !== s.address) expect((await s.ping(`10.1.0.${j}`)).bytes).toBe(56);
      }
    }
    expect(sw.table().length).toBe(10);
    all[0]!.createServer((s) => s.pipe(s)).listen(7);
    const results = await Promise.all(
      all.slice(1).map(
        (s, i) =>
          new Promise<boolean>((resolve, reject) => {
            const data = pattern(50_000, i + 10);
            const chunks: Buffer[] = [];
            const c = s.connect(7, "10.1.0.1", () => c.end(data));
            c.on("data", (d: Buffer) => chunks.push(d));
            c.on("end", () => resolve(sha(Buffer.concat(chunks)) === sha(data)));
            c.on("error", reject);
          }),
      ),
    );
    expect(results).toEqual(Array(9).fill(true));
  });

  it("reports EHOSTUNREACH when ARP gets no answer (3 requests, 1 s apart), in virtual time", async () => {
    const clock = new VirtualClock();
    const [la, lb] = memoryPair({ medium: "ethernet", mtu: 1500, clock });
    const a = createStack({ link: la, ipv4: "10.0.0.1/24", clock });
    const b = createStack({ link: lb, ipv4: "10.0.0.2/24", clock });
    stacks.push(a, b);
    const sock = b.connect(80, "10.0.0.99");
    let err: NodeJS.ErrnoException | undefined;
    sock.on("error", (e) => (err = e));
    const took = await runVirtual(clock, () => err !== undefined, 10_000, 100);
    expect(err?.code).toBe("EHOSTUNREACH");
    expect(took).toBeGreaterThanOrEqual(3000);
    expect(took).toBeLessThanOrEqual(3200);
    expect(b.interfaces()[0]!.counters["arp.failures"]).toBe(1);
  });

  it("sends off-link traffic to the gateway's MAC", async () => {
    const [la, lb] = memoryPair({ medium: "ethernet", mtu: 1500 });
    const gw = createStack({ link: la, ipv4: "10.0.0.1/24", mac: mac(1) });
    const host = createStack({ link: lb, ipv4: "10.0.0.2/24", gateway: "10.0.0.1", mac: mac(2) });
    stacks.push(gw, host);
    const s = host.connect({ port: 80, host: "192.0.2.7", tcp: { synRetries: 1 } });
    s.on("error", () => {});
    await new Promise((r) => setTimeout(r, 100));
    expect(host.interfaces()[0]!.neighbors?.[0]).toMatchObject({ address: "10.0.0.1", mac: mac(1) });
    // The gateway is a host, not a router: it counts the datagram for another address as foreign.
    expect(gw.interfaces()[0]!.counters["ipv4.foreign"]).toBeGreaterThanOrEqual(1);
    s.destroy();
  });

  it("fragments a datagram larger than the MTU and reassembles it on the other side", async () => {
    const [la, lb] = memoryPair({ medium: "ethernet", mtu: 1500 });
    const a = createStack({ link: la, ipv4: "10.0.0.1/24" });
    const b = createStack({ link: lb, ipv4: "10.0.0.2/24" });
    stacks.push(a, b);
    const r = await b.ping("10.0.0.1", { size: 4000 });
    expect(r.bytes).toBe(4000);
    const ai = a.interfaces()[0]!.counters;
    const bi = b.interfaces()[0]!.counters;
    expect(bi["ipv4.fragmentsSent"]).toBe(3); // 4028 bytes of ICMP in 1480-byte pieces
    expect(ai["reassembly.reassembled"]).toBe(1);
    expect(ai["ipv4.fragmentsSent"]).toBe(3); // the reply, fragmented the same way
    expect(bi["reassembly.reassembled"]).toBe(1);
  });

  it("counts malformed and foreign frames, answers UDP with port unreachable, never throws", async () => {
    const [la, raw] = memoryPair({ medium: "ethernet", mtu: 1500 });
    const a = createStack({ link: la, ipv4: "10.0.0.1/24", mac: mac(1) });
    stacks.push(a);
    const seen: Uint8Array[] = [];
    raw.attach({ receive: (f) => seen.push(f.slice()), flush() {} });
    const ours = Uint8Array.from([2, 0, 0, 0, 0, 1]);
    const peer = Uint8Array.from([2, 0, 0, 0, 0, 9]);
    raw.send(new Uint8Array(5)); // shorter than a header
    raw.send(
      encodeEthernet(
        { destination: Uint8Array.from([2, 0, 0, 0, 0, 7]), source: peer, etherType: EtherType.Ipv4 },
        new Uint8Array(40),
      ),
    );
    raw.send(
      encodeEthernet(
        { destination: ours, source: peer, etherType: EtherType.Ipv4 },
        new Uint8Array(40).fill(0x45),
      ),
    );
    const udp = encodeIpv4(
      { protocol: IpProtocol.Udp, source: 0x0a000009, destination: 0x0a000001 },
      new Uint8Array(12),
    );
    raw.send(encodeEthernet({ destination: ours, source: peer, etherType: EtherType.Ipv4 }, udp));
    await new Promise((r) => setTimeout(r, 50));
    const c = a.interfaces()[0]!.counters;
    expect(c["link.ethernetMalformed"]).toBe(1);
    expect(c["link.notForOurMac"]).toBe(1);
    expect(c["ipv4.badChecksum"] + c["ipv4.badLength"] + c["ipv4.badVersion"] + c["ipv4.truncated"]).toBe(1);
    expect(c["icmp.unreachableSent"]).toBe(1);
    // The port unreachable went out after ARP resolved 10.0.0.9… which nobody answers: it waits in
    // the queue, and ARP requests for 10.0.0.9 are what the wire shows.
    const arps = seen.filter((f) => {
      const e = decodeEthernet(f);
      return (
        !(e instanceof Object && "reason" in e) && (e as { etherType: number }).etherType === EtherType.Arp
      );
    });
    expect(arps.length).toBeGreaterThanOrEqual(1);
  });
});

const noTshark = missing({ tools: ["tshark"] });
describe.skipIf(noTshark)("captures", () => {
  it("a capture of a whole run opens in tshark with no malformed packet and no bad checksum", async () => {
    const dir = mkdtempSync(join(tmpdir(), "us-cap-"));
    try {
      const file = join(dir, "run.pcap");
      const [la, lb] = memoryPair({ medium: "ethernet", mtu: 1500 });
      const writer = new PcapWriter(fileSink(file), { linkType: 1 });
      const wire: Link = withCapture(la, writer, {
        now: () => performance.now(),
        setTimer: () => ({}),
        clearTimer() {},
      });
      const a = createStack({ link: wire, ipv4: "10.0.0.1/24" });
      const b = createStack({ link: lb, ipv4: "10.0.0.2/24" });
      stacks.push(a, b);
      await b.ping("10.0.0.1", { size: 3000 });
      a.createServer((s) => s.pipe(s)).listen(7);
      const data = pattern(200_000, 9);
      await new Promise<void>((resolve) => {
        const s = b.connect(7, "10.0.0.1", () => s.end(data));
        s.on("data", () => {}).on("close", () => resolve());
      });
      await a.close();
      await b.close();
      stacks = [];
      const out = execFileSync(
        "tshark",
        [
          "-r",
          file,
          "-o",
          "tcp.check_checksum:TRUE",
          "-o",
          "ip.check_checksum:TRUE",
          "-T",
          "fields",
          "-e",
          "frame.protocols",
          "-e",
          "_ws.expert.severity",
          "-e",
          "_ws.malformed",
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
      );
      const lines = out.trim().split("\n");
      expect(lines.length).toBeGreaterThan(100);
      expect(out).not.toMatch(/malformed/i);
      expect(lines.some((l) => l.includes("eth:ethertype:arp"))).toBe(true);
      expect(lines.some((l) => l.includes("eth:ethertype:ip:tcp"))).toBe(true);
      expect(lines.some((l) => l.includes("eth:ethertype:ip:icmp"))).toBe(true);
      const bad = execFileSync(
        "tshark",
        [
          "-r",
          file,
          "-o",
          "tcp.check_checksum:TRUE",
          "-o",
          "ip.check_checksum:TRUE",
          "-Y",
          "tcp.checksum.status == 0 || ip.checksum.status == 0 || icmp.checksum.status == 0 || _ws.malformed",
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
      );
      expect(bad.trim()).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("our own address", () => {
  it("connects to a server on the same stack through a loopback that never touches the link", async () => {
    const [la] = memoryPair({ medium: "ethernet", mtu: 1500 });
    const a = createStack({ link: la, ipv4: "10.0.0.1/24" });
    stacks.push(a);
    a.createServer((s) => s.pipe(s)).listen(7);
    const data = pattern(500_000, 77);
    const got = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = a.connect(7, "10.0.0.1", () => s.end(data));
      s.on("data", (d: Buffer) => chunks.push(d))
        .on("end", () => resolve(Buffer.concat(chunks)))
        .on("error", reject);
    });
    expect(sha(got)).toBe(sha(data));
    const c = a.interfaces()[0]!.counters;
    expect(c["link.tcpLoopedBack"]).toBeGreaterThan(300);
    expect(c["link.framesOut"]).toBe(c["arp.announcementsSent"]); // only the gratuitous ARPs went out
  });
});
