#!/usr/bin/env node
// Decodes a pcap of real Linux traffic with the userstack codecs and prints each frame, layer by
// layer. Usage: node apps/demo/dist/main.js [file.pcap]   (default: a captured TCP session)
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decodeArp } from "@userstack/arp";
import { decodeEthernet, EtherType, formatMac } from "@userstack/ethernet";
import { decodeIcmp } from "@userstack/icmp";
import { decodeIpv4, formatIpv4, IpProtocol } from "@userstack/ipv4";
import { decodePcap } from "@userstack/pcap";
import { decodeTcp, TcpFlag, type TcpOption } from "@userstack/tcp";
import { DecodeError } from "@userstack/wire";

const FLAG_NAMES: [number, string][] = [
  [TcpFlag.SYN, "SYN"],
  [TcpFlag.ACK, "ACK"],
  [TcpFlag.PSH, "PSH"],
  [TcpFlag.FIN, "FIN"],
  [TcpFlag.RST, "RST"],
  [TcpFlag.URG, "URG"],
  [TcpFlag.ECE, "ECE"],
  [TcpFlag.CWR, "CWR"],
];

/** A TCP option as tcpdump would print it. */
function describeOption(o: TcpOption): string {
  if ("mss" in o) return `mss ${o.mss}`;
  if ("shift" in o) return `wscale ${o.shift}`;
  if ("tsVal" in o) return `TS val ${o.tsVal} ecr ${o.tsEcr}`;
  if ("blocks" in o) return `sack ${o.blocks.join(",")}`;
  if ("data" in o) return `unknown-${o.kind}`;
  return ["eol", "nop", "", "", "sackOK"][o.kind] ?? `kind-${o.kind}`;
}

/** One line per layer for a frame. */
export function describeFrame(frame: Uint8Array): string[] {
  const lines: string[] = [];
  const eth = decodeEthernet(frame);
  if (eth instanceof DecodeError) return [`malformed: ${eth}`];
  lines.push(
    `Ethernet  ${formatMac(eth.source)} → ${formatMac(eth.destination)}  type 0x${eth.etherType.toString(16).padStart(4, "0")}`,
  );
  if (eth.etherType === EtherType.Arp) {
    const arp = decodeArp(eth.payload);
    if (arp instanceof DecodeError) return [...lines, `malformed: ${arp}`];
    const who = `${formatIpv4(arp.senderIp)} (${formatMac(arp.senderMac)})`;
    lines.push(
      arp.op === 1
        ? `ARP       who has ${formatIpv4(arp.targetIp)}? tell ${who}`
        : `ARP       ${who} is at ${formatMac(arp.senderMac)}`,
    );
    return lines;
  }
  if (eth.etherType !== EtherType.Ipv4) return lines;
  const ip = decodeIpv4(eth.payload);
  if (ip instanceof DecodeError) return [...lines, `malformed: ${ip}`];
  lines.push(
    `IPv4      ${formatIpv4(ip.source)} → ${formatIpv4(ip.destination)}  ttl ${ip.ttl}  id 0x${ip.identification.toString(16)}  len ${ip.totalLength}${ip.dontFragment ? "  DF" : ""}  checksum ok`,
  );
  if (ip.protocol === IpProtocol.Tcp) {
    const tcp = decodeTcp(ip.payload, ip.source, ip.destination);
    if (tcp instanceof DecodeError) return [...lines, `malformed: ${tcp}`];
    const flags = FLAG_NAMES.filter(([bit]) => tcp.flags & bit)
      .map(([, n]) => n)
      .join(",");
    const opts = tcp.options.map(describeOption).join(" ");
    lines.push(
      `TCP       ${tcp.sourcePort} → ${tcp.destinationPort}  [${flags}]  seq ${tcp.seq}  ack ${tcp.ack}  win ${tcp.window}  len ${tcp.payloadLength}  checksum ok`,
    );
    if (opts) lines.push(`          options ${opts}`);
    if (tcp.payloadLength > 0)
      lines.push(`          data ${JSON.stringify(new TextDecoder().decode(tcp.payload))}`);
  } else if (ip.protocol === IpProtocol.Icmp) {
    const icmp = decodeIcmp(ip.payload);
    if (icmp instanceof DecodeError) return [...lines, `malformed: ${icmp}`];
    lines.push(`ICMP      type ${icmp.type} code ${icmp.code}  checksum ok`);
  }
  return lines;
}

function main(): void {
  const arg = process.argv[2];
  if (arg === "--help" || arg === "-h") {
    console.log(
      "usage: demo [file.pcap]\nDecodes each frame of a pcap (Ethernet) with the userstack codecs and prints it.",
    );
    return;
  }
  const path = arg ?? fileURLToPath(new URL("../data/tcp-session.pcap", import.meta.url));
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    console.error(
      `demo: cannot read ${path} (${(e as NodeJS.ErrnoException).code}); pass the path of a .pcap file.`,
    );
    process.exit(2);
  }
  const file = decodePcap(bytes);
  if (file instanceof DecodeError) {
    console.error(`demo: ${path} is not a classic pcap file (${file}).`);
    process.exit(2);
  }
  console.log(`${path}: ${file.records.length} frames, link type ${file.linkType}\n`);
  file.records.forEach((r, i) => {
    console.log(`#${i + 1}  ${r.data.length} bytes`);
    for (const line of describeFrame(r.data)) console.log(`    ${line}`);
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
