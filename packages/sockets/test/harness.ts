import { internetChecksum } from "@userstack/ipv4";
import { type FaultConfig, type Link, memoryPair, VirtualClock, withFaults } from "@userstack/link";
import { TcpFlag, writeTcpChecksum } from "@userstack/tcp";
import { put16, put32, u16, u32 } from "@userstack/wire";
import { createStack, type Stack, type StackOptions } from "../src/index.js";

export { pattern, sha } from "@userstack/testkit";

/** Two stacks on an IP-medium memory pair, optionally with faults on each side, in virtual time. */
export function virtualPair(
  faults?: FaultConfig & { seed: number },
  extra: Partial<StackOptions> = {},
): { clock: VirtualClock; a: Stack; b: Stack; links: Link[] } {
  const clock = new VirtualClock();
  const [la, lb] = memoryPair({ medium: "ip", mtu: 1500, clock, latencyMs: 1, queueLimit: 4096 });
  const wrap = (l: Link, seed: number): Link => (faults ? withFaults(l, { ...faults, seed, clock }) : l);
  const links = [wrap(la, faults?.seed ?? 0), wrap(lb, (faults?.seed ?? 0) + 1000)];
  const a = createStack({ ...extra, link: links[0]!, ipv4: "10.0.0.1/24", clock });
  const b = createStack({ ...extra, link: links[1]!, ipv4: "10.0.0.2/24", clock });
  return { clock, a, b, links };
}

/**
 * Advances virtual time in steps, letting promise callbacks run between steps, until `done()`
 * holds or `maxMs` of virtual time have passed. Returns the virtual time it took.
 */
export async function runVirtual(
  clock: VirtualClock,
  done: () => boolean,
  maxMs: number,
  stepMs = 5,
): Promise<number> {
  const start = clock.now();
  while (!done()) {
    if (clock.now() - start > maxMs) throw new Error(`not done after ${maxMs} ms of virtual time`);
    clock.advance(stepMs);
    await new Promise((r) => setImmediate(r));
  }
  return clock.now() - start;
}

/**
 * A link that offers TCP segmentation offload and does the segmenting in software (what a TAP's
 * kernel does with a virtio-net header): each merged frame becomes MSS-sized frames with their own
 * sequence numbers, IPv4 identifications and full checksums, sent on `inner`. For testing the
 * stack's merging without a device; `merged` counts the frames it cut.
 */
export function withSoftwareSegmentation(
  inner: Link,
  limit = 65535,
): Link & { merged: number; pieces: number } {
  const offload = {
    merged: 0,
    pieces: 0,
    get medium() {
      return inner.medium;
    },
    get mtu() {
      return inner.mtu;
    },
    get mac() {
      return inner.mac;
    },
    segmentationOffload: limit,
    send: (f: Uint8Array) => inner.send(f),
    attach: (r: Parameters<Link["attach"]>[0]) => inner.attach(r),
    close: () => inner.close(),
    sendSegmented(frame: Uint8Array, mss: number) {
      offload.merged++;
      const ipAt = inner.medium === "ethernet" ? 14 : 0;
      const ihl = (frame[ipAt]! & 15) * 4;
      const tcpAt = ipAt + ihl;
      const thl = (frame[tcpAt + 12]! >>> 4) * 4;
      const dataAt = tcpAt + thl;
      const src = u32(frame, ipAt + 12);
      const dst = u32(frame, ipAt + 16);
      const seq0 = u32(frame, tcpAt + 4);
      const id0 = u16(frame, ipAt + 4);
      const flags = frame[tcpAt + 13]!;
      const piece = new Uint8Array(dataAt + mss);
      for (let off = 0, i = 0; dataAt + off < frame.length; off += mss, i++) {
        const len = Math.min(mss, frame.length - dataAt - off);
        const last = dataAt + off + len === frame.length;
        piece.set(frame.subarray(0, dataAt), 0);
        piece.set(frame.subarray(dataAt + off, dataAt + off + len), dataAt);
        put16(piece, ipAt + 2, ihl + thl + len);
        put16(piece, ipAt + 4, (id0 + i) & 0xffff);
        put16(piece, ipAt + 10, 0);
        put16(piece, ipAt + 10, internetChecksum(piece, ipAt, ipAt + ihl));
        put32(piece, tcpAt + 4, (seq0 + off) >>> 0);
        piece[tcpAt + 13] = last ? flags : flags & ~(TcpFlag.PSH | TcpFlag.FIN);
        writeTcpChecksum(piece.subarray(tcpAt, dataAt + len), src, dst);
        offload.pieces++;
        inner.send(piece.subarray(0, dataAt + len));
      }
    },
  };
  return offload;
}
