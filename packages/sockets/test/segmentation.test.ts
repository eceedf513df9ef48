import { decodeEthernet } from "@userstack/ethernet";
import { decodeIpv4 } from "@userstack/ipv4";
import { type Link, memoryPair } from "@userstack/link";
import { decodeTcp } from "@userstack/tcp";
import { DecodeError } from "@userstack/wire";
import { afterEach, describe, expect, it } from "vitest";
import { createStack, type Stack } from "../src/index.js";
import { pattern, sha, withSoftwareSegmentation } from "./harness.js";

let stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.map((s) => s.close()));
  stacks = [];
});

/** A link that checks every frame it carries: within the MTU, valid IPv4 and TCP checksums. */
function wireCheck(inner: Link, seen: { frames: number; bad: number; largest: number }): Link {
  return {
    get medium() {
      return inner.medium;
    },
    get mtu() {
      return inner.mtu;
    },
    send(f) {
      seen.frames++;
      seen.largest = Math.max(seen.largest, f.length - 14);
      const e = decodeEthernet(f);
      if (!(e instanceof DecodeError) && e.etherType === 0x0800) {
        const ip = decodeIpv4(f, true, 14);
        if (ip instanceof DecodeError || f.length - 14 > inner.mtu) seen.bad++;
        else if (ip.protocol === 6 && decodeTcp(ip.payload, ip.source, ip.destination) instanceof DecodeError)
          seen.bad++;
      }
      inner.send(f);
    },
    attach: (r) => inner.attach(r),
    close: () => inner.close(),
  };
}

describe("TCP segmentation offload", () => {
  it("merges consecutive full segments for a link that segments, and the wire still sees valid MTU-sized frames", async () => {
    const [la, lb] = memoryPair({ medium: "ethernet", mtu: 1500, queueLimit: 8192 });
    const seen = { frames: 0, bad: 0, largest: 0 };
    const offloading = withSoftwareSegmentation(wireCheck(lb, seen));
    const server = createStack({ link: la, ipv4: "10.0.0.1/24" });
    const client = createStack({ link: offloading, ipv4: "10.0.0.2/24" });
    stacks.push(server, client);
    const data = pattern(4_000_000, 5);
    const got = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      server
        .createServer((s) => {
          s.on("data", (d: Buffer) => chunks.push(d));
          s.on("end", () => resolve(Buffer.concat(chunks)));
        })
        .listen(80);
      const s = client.connect(80, "10.0.0.1", () => s.end(data));
      s.on("error", reject);
    });
    expect(sha(got)).toBe(sha(data));
    const c = client.interfaces()[0]!.counters;
    expect(c["link.tcpSegmentedFrames"]).toBeGreaterThan(50);
    expect(offloading.merged).toBe(c["link.tcpSegmentedFrames"]);
    expect(offloading.pieces).toBeGreaterThan(offloading.merged * 2);
    expect(seen.bad).toBe(0);
    expect(seen.largest).toBeLessThanOrEqual(1500);
    expect(server.counters.tcpMalformed).toBe(0);
  });
});
