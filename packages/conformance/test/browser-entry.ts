// Bundled for the browser by test/browser.test.ts (esbuild, platform "browser": an import of a
// Node module would fail the build) and run in headless Chromium. Everything here is what a web
// page can do with the protocol packages: decode a captured frame, sum checksums (WebAssembly SIMD
// and the JavaScript path), move 1 MB between two TCP engines in virtual time, write and read pcap.
import { decodeArp } from "@userstack/arp";
import { decodeEthernet, EtherType, formatMac } from "@userstack/ethernet";
import { decodeIcmp } from "@userstack/icmp";
import { decodeIpv4, formatIpv4, internetChecksum, jsSum, onesComplementSum } from "@userstack/ipv4";
import { memoryPair, VirtualClock } from "@userstack/link";
import { decodePcap, LinkType, MemorySink, PcapWriter } from "@userstack/pcap";
import {
  decodeTcp,
  type TcpConnection,
  TcpEngine,
  type TcpSegmentOut,
  writeTcpSegment,
} from "@userstack/tcp";
import { DecodeError, fromHex } from "@userstack/wire";

/** The page's global object, where the test finds the smoke function. */
const page = globalThis as unknown as { runSmoke?: (frames: string[]) => unknown };

function must<T>(x: T | DecodeError): T {
  if (x instanceof DecodeError) throw new Error(String(x));
  return x;
}

/** Two engines, 1 MB one way, lossless, in virtual time; returns what arrived. */
function tcpTransfer(bytes: number): { received: number; sum: number; closed: boolean; segments: number } {
  const A = 0x0a000001;
  const B = 0x0a000002;
  let now = 0;
  const wire: { to: number; bytes: Uint8Array }[] = [];
  const send = (s: TcpSegmentOut): void => {
    const frame = new Uint8Array(1600);
    wire.push({ to: s.remoteAddress, bytes: frame.subarray(0, writeTcpSegment(s, frame)) });
  };
  const client = new TcpEngine().connect(now, A, 40000, B, 80);
  const listener = new TcpEngine().listen(B, 80);
  let server: TcpConnection | undefined;
  const data = new Uint8Array(bytes).map((_, i) => (i * 13) & 255);
  let written = 0;
  let received = 0;
  let sum = 0;
  const buf = new Uint8Array(65536);
  client.dispatch(now, send);
  for (let steps = 0; steps < 1e6; steps++) {
    const frame = wire.shift();
    if (frame === undefined) {
      const next = Math.min(client.deadline() ?? Infinity, server?.deadline() ?? Infinity);
      if (next === Infinity) break;
      now = Math.max(now, next);
    } else {
      const from = frame.to === B ? A : B;
      const seg = must(decodeTcp(frame.bytes, from, frame.to));
      if (frame.to === A) client.input(seg, now);
      else if (server !== undefined) server.input(seg, now);
      else server = listener.input(seg, now, from, frame.to);
    }
    client.takeEvents();
    if (client.state === "ESTABLISHED" || client.state === "CLOSE-WAIT") {
      if (written < bytes) written += client.write(data.subarray(written), now);
      if (written === bytes) client.close(now);
    }
    if (server !== undefined) {
      server.takeEvents();
      for (let n = server.read(buf, now); n !== 0; n = server.read(buf, now)) {
        if (n < 0) {
          server.close(now);
          break;
        }
        for (let i = 0; i < n; i++) sum = (sum + buf[i]!) | 0;
        received += n;
      }
      server.dispatch(now, send);
    }
    client.dispatch(now, send);
    if (client.state === "CLOSED" && server?.state === "CLOSED" && wire.length === 0) break;
  }
  let expected = 0;
  for (let i = 0; i < bytes; i++) expected = (expected + data[i]!) | 0;
  return {
    received,
    sum: sum === expected ? 1 : 0,
    closed: client.state === "CLOSED" && server?.state === "CLOSED",
    segments: client.status().segmentsOut,
  };
}

page.runSmoke = (framesHex: string[]) => {
  const frames = framesHex.map(fromHex);
  const out: Record<string, unknown> = {};
  const arpFrame = must(decodeEthernet(frames[0]!));
  const arp = must(decodeArp(arpFrame.payload));
  out.arp = `${formatMac(arpFrame.source)} asks who has ${formatIpv4(arp.targetIp)}`;
  const pingFrame = must(decodeEthernet(frames[1]!));
  const ip = must(decodeIpv4(pingFrame.payload));
  const icmp = must(decodeIcmp(ip.payload));
  out.ping = `${formatIpv4(ip.source)} > ${formatIpv4(ip.destination)} icmp type ${icmp.type} seq ${icmp.sequence}`;
  const synFrame = must(decodeEthernet(frames[2]!));
  out.synEtherType = synFrame.etherType === EtherType.Ipv4;
  const synIp = must(decodeIpv4(synFrame.payload));
  const syn = must(decodeTcp(synIp.payload, synIp.source, synIp.destination));
  out.syn = {
    port: syn.destinationPort,
    mss: syn.mss,
    wscale: syn.windowScale,
    sack: syn.sackPermitted,
    ts: syn.hasTimestamps,
  };
  // The checksum: the SIMD path for long buffers must agree with the JavaScript one.
  const big = new Uint8Array(9000).map((_, i) => (i * 31 + 7) & 255);
  out.checksumAgree = onesComplementSum(big, 1, 8999) === jsSum(big, 1, 8999);
  out.checksumOfHeader = internetChecksum(synIp.bytes.subarray(0, 20)); // 0 for a valid header
  out.tcp = tcpTransfer(1 << 20);
  // pcap round trip and an in-memory link driven by a virtual clock.
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType: LinkType.Ethernet });
  for (const f of frames) w.write(f, 1000);
  out.pcapRecords = must(decodePcap(sink.bytes())).records.length;
  const clock = new VirtualClock();
  const [a, b] = memoryPair({ clock });
  let delivered = 0;
  b.attach({ receive: () => delivered++, flush() {} });
  for (const f of frames) a.send(f);
  clock.runUntilIdle();
  out.linkDelivered = delivered;
  return out;
};
