// `pnpm bench`: the codec figures issue 2 asks for, printed as a table for the README.
//   - full decode of an Ethernet + IPv4 + TCP SYN with options (MSS, SACK-permitted, timestamps,
//     window scale): every layer validated, the IPv4 header and TCP checksums verified, the TCP
//     options parsed — as a stack's receive path runs it: in place in the frame, views reused;
//   - the same for a 1460-byte data segment (the TCP checksum then sums 1480 bytes), with new
//     views, and through the older decodeTcp(ip.payload) path for comparison;
//   - encoding the same frames into one reused buffer, checksums computed;
//   - internet checksum throughput over 1460-byte payloads.
//
// It measures the code as the packages ship it. `pnpm bench` starts this file with tsx, whose
// esbuild transform keeps function names (`keepNames`): every class gets a static block that
// redefines its `name`, and V8 then stops inlining `instanceof` for it — each
// `x instanceof DecodeError` becomes a generic call, about 20 ns, three of them per decoded frame.
// tsup builds the published packages without it. So this file bundles itself with esbuild the
// way tsup does (sources through the tsconfig paths, ES2022, no keepNames) and runs the bundle in
// a child process. USERSTACK_BENCH_TSX=1 runs it as tsx compiled it instead, for comparison.

import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeArp, encodeArp } from "@userstack/arp";
import { decodeEthernet, EthernetView, EtherType, writeEthernetHeader } from "@userstack/ethernet";
import { decodeIcmp, encodeIcmp } from "@userstack/icmp";
import { decodeIpv4, type Ipv4Header, Ipv4View, internetChecksum, writeIpv4Header } from "@userstack/ipv4";
import { decodeTcp, decodeTcpAt, encodeTcp, type TcpHeader, TcpView, writeTcpOptions } from "@userstack/tcp";
import { type BenchResult, bench, machine, report } from "@userstack/testkit";
import { DecodeError } from "@userstack/wire";
import { IP_A, IP_B, MAC_A, MAC_B } from "./corpus.js";

const eth = { destination: MAC_B, source: MAC_A, etherType: EtherType.Ipv4 };
const ipHeader: Ipv4Header = {
  protocol: 6,
  source: IP_A,
  destination: IP_B,
  identification: 1,
  dontFragment: true,
};
const syn: TcpHeader = {
  sourcePort: 52546,
  destinationPort: 7777,
  seq: 0xfc6ba10b,
  ack: 0,
  flags: 0x02,
  window: 64240,
  options: [
    { kind: 2, mss: 1460 },
    { kind: 4 },
    { kind: 8, tsVal: 4234897411, tsEcr: 0 },
    { kind: 1 },
    { kind: 3, shift: 7 },
  ],
};
// The same SYN with its options encoded once, as an engine keeps them per connection.
const synOptionBytes = new Uint8Array(40);
const synPreEncoded: TcpHeader = {
  sourcePort: 52546,
  destinationPort: 7777,
  seq: 0xfc6ba10b,
  ack: 0,
  flags: 0x02,
  window: 64240,
  optionBytes: synOptionBytes,
  optionLength: writeTcpOptions(syn.options!, synOptionBytes, 0),
};
const data: TcpHeader = {
  sourcePort: 52546,
  destinationPort: 7777,
  seq: 123456789,
  ack: 987654321,
  flags: 0x18,
  window: 502,
};
const payload = Uint8Array.from({ length: 1460 }, (_, i) => (i * 7) & 0xff);
const empty = new Uint8Array(0);

/** Ethernet + IPv4 + TCP into `out`; returns the frame length. The encode path the stack runs per segment. */
function encodeFrame(tcp: TcpHeader, body: Uint8Array, out: Uint8Array): number {
  const ipAt = writeEthernetHeader(eth, out, 0);
  const tcpAt = ipAt + 20;
  const seg = encodeTcp(tcp, body, out, tcpAt, IP_A, IP_B);
  ipHeader.payloadLength = seg.length;
  writeIpv4Header(ipHeader, out, ipAt);
  return tcpAt + seg.length;
}

// The receive path of a stack: one view per layer, reused for every frame (`into`), as the
// engines lend them and keep nothing; the TCP segment decoded in place in the frame.
const ethView = new EthernetView(new Uint8Array(0), 0);
const ipView = new Ipv4View(new Uint8Array(0));
const tcpView = new TcpView(new Uint8Array(0), 0);

/** Full decode: every layer validated, both checksums verified. Returns a value so nothing is optimised away. */
function decodeFrame(frame: Uint8Array): number {
  const e = decodeEthernet(frame, ethView);
  if (e instanceof DecodeError) throw new Error(String(e));
  const ip = decodeIpv4(frame, true, e.headerLength, ipView); // in place: no view of the Ethernet payload
  if (ip instanceof DecodeError) throw new Error(String(ip));
  const tcp = decodeTcpAt(frame, ip.payloadStart, ip.end, ip.source, ip.destination, tcpView); // nor of the IP payload
  if (tcp instanceof DecodeError) throw new Error(String(tcp));
  return tcp.seq + tcp.mss + tcp.windowScale + tcp.tsVal + tcp.payloadLength;
}

/** {@link decodeFrame} with a new view per layer per frame. */
function decodeFrameNewViews(frame: Uint8Array): number {
  const e = decodeEthernet(frame);
  if (e instanceof DecodeError) throw new Error(String(e));
  const ip = decodeIpv4(frame, true, e.headerLength);
  if (ip instanceof DecodeError) throw new Error(String(ip));
  const tcp = decodeTcpAt(frame, ip.payloadStart, ip.end, ip.source, ip.destination);
  if (tcp instanceof DecodeError) throw new Error(String(tcp));
  return tcp.seq + tcp.mss + tcp.windowScale + tcp.tsVal + tcp.payloadLength;
}

/** {@link decodeFrame} through the older path: a subarray of the IP payload handed to decodeTcp. */
function decodeFrameViaPayload(frame: Uint8Array): number {
  const e = decodeEthernet(frame, ethView);
  if (e instanceof DecodeError) throw new Error(String(e));
  const ip = decodeIpv4(frame, true, e.headerLength, ipView);
  if (ip instanceof DecodeError) throw new Error(String(ip));
  const tcp = decodeTcp(ip.payload, ip.source, ip.destination, tcpView);
  if (tcp instanceof DecodeError) throw new Error(String(tcp));
  return tcp.seq + tcp.mss + tcp.windowScale + tcp.tsVal + tcp.payloadLength;
}

/**
 * The machine is shared (two cores, other suites running): wall-clock time per operation then
 * measures the other processes as much as this code. Each figure is the process CPU time per
 * operation (user + system, GC threads included) over a one-second run, the best of `ROUNDS`
 * runs; the wall-clock figure of that run is printed beside it.
 */
const ROUNDS = Number(process.env.USERSTACK_BENCH_ROUNDS ?? 5);
function best(name: string, fn: () => unknown): BenchResult {
  bench(name, fn, { minMs: 300, warmupMs: 0 }); // warm-up: let the JIT settle before measuring
  let result: BenchResult | undefined;
  for (let r = 0; r < ROUNDS; r++) {
    const before = process.cpuUsage();
    const x = bench(name, fn, { minMs: 1000, warmupMs: 0 });
    const cpu = process.cpuUsage(before);
    const cpuNs = ((cpu.user + cpu.system) * 1000) / x.ops;
    if (!result || cpuNs < result.nsPerOp)
      result = { ...x, nsPerOp: cpuNs, extra: { "wall clock": `${x.nsPerOp.toFixed(1)} ns` } };
  }
  return result!;
}

function run(how: string): void {
  const synBuf = new Uint8Array(1600);
  const synFrame = synBuf.subarray(0, encodeFrame(syn, empty, synBuf));
  const dataBuf = new Uint8Array(1600);
  const dataFrame = dataBuf.subarray(0, encodeFrame(data, payload, dataBuf));
  if (synFrame.length !== 74 || dataFrame.length !== 1514) throw new Error("unexpected frame sizes");
  if (decodeFrame(synFrame) !== decodeFrameViaPayload(synFrame)) throw new Error("the decode paths disagree");

  const out = new Uint8Array(1600);
  const results: BenchResult[] = [
    best("decode Eth+IPv4+TCP SYN with options (74 B), checksums verified", () => decodeFrame(synFrame)),
    best("decode Eth+IPv4+TCP 1460-byte data (1514 B), checksums verified", () => decodeFrame(dataFrame)),
    best("decode SYN as above, a new view per layer", () => decodeFrameNewViews(synFrame)),
    best("decode SYN as above, through decodeTcp(ip.payload)", () => decodeFrameViaPayload(synFrame)),
    best("encode Eth+IPv4+TCP SYN with options, checksums computed", () => encodeFrame(syn, empty, out)),
    best("encode SYN as above, options pre-encoded (optionBytes)", () =>
      encodeFrame(synPreEncoded, empty, out),
    ),
    best("encode Eth+IPv4+TCP 1460-byte data, payload copied, checksums computed", () =>
      encodeFrame(data, payload, out),
    ),
  ];
  const sum = best("internet checksum over 1460 bytes", () => internetChecksum(payload));
  sum.extra = { ...sum.extra, throughput: `${(1460 / sum.nsPerOp).toFixed(2)} GB/s` };
  results.push(sum);

  const arp = encodeArp({
    op: 1,
    senderMac: MAC_A,
    senderIp: IP_A,
    targetMac: new Uint8Array(6),
    targetIp: IP_B,
  });
  const echo = encodeIcmp({ type: 8, identifier: 1, sequence: 1 }, payload.subarray(0, 56));
  const arpOut = new Uint8Array(28);
  results.push(
    best("decode ARP", () => {
      const a = decodeArp(arp);
      return a instanceof DecodeError ? 0 : a.targetIp;
    }),
    best("encode ARP", () =>
      encodeArp({ op: 2, senderMac: MAC_B, senderIp: IP_B, targetMac: MAC_A, targetIp: IP_A }, arpOut),
    ),
    best("decode ICMP echo (64 B), checksum verified", () => {
      const m = decodeIcmp(echo);
      return m instanceof DecodeError ? 0 : m.sequence;
    }),
  );

  console.log(
    `machine: ${machine()}; load average ${os.loadavg()[0]!.toFixed(2)} (shared machine); ${how}; CPU time per op, best of ${ROUNDS} runs\n`,
  );
  report("codec benchmarks", results);
}

/** Bundles this file as tsup builds the packages and runs the bundle; returns its exit code. */
async function runBundled(): Promise<number> {
  const { build } = await import("esbuild");
  const here = fileURLToPath(import.meta.url);
  const bundle = join(os.tmpdir(), `userstack-codec-bench-${process.pid}.mjs`);
  try {
    await build({
      entryPoints: [here],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "es2022",
      outfile: bundle,
      tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)),
      external: ["esbuild"],
      logLevel: "warning",
    });
    const child = spawnSync(process.execPath, [bundle], {
      stdio: "inherit",
      env: { ...process.env, USERSTACK_BENCH_BUNDLED: "1" },
    });
    return child.status ?? 1;
  } finally {
    rmSync(bundle, { force: true });
  }
}

if (process.env.USERSTACK_BENCH_BUNDLED === "1") run("bundled by esbuild as tsup ships the packages");
else if (process.env.USERSTACK_BENCH_TSX === "1") run("run by tsx (keepNames: instanceof not inlined)");
else process.exitCode = await runBundled();
