import { type ArpHeader, ArpOp, encodeArp } from "@userstack/arp";
import {
  BROADCAST_MAC,
  type EthernetHeader,
  EtherType,
  encodeEthernet,
  formatMac,
  parseMac,
  ZERO_MAC,
} from "@userstack/ethernet";
import { encodeIcmp, type IcmpHeader, IcmpType, TimeExceededCode, UnreachableCode } from "@userstack/icmp";
import {
  copiedIpv4Options,
  encodeIpv4,
  encodeIpv4Options,
  formatIpv4,
  IpProtocol,
  type Ipv4Header,
  internetChecksum,
  ipv4HeaderLength,
  parseIpv4,
  pseudoHeaderSum,
} from "@userstack/ipv4";
import { encodeTcp, type TcpHeader, type TcpOption } from "@userstack/tcp";
import { u16 } from "@userstack/wire";

/**
 * One frame of the cross-check corpus and what a dissector must report for it. `expect` maps a
 * tshark field name to its value as `tshark -T json` prints it: a string is the field's first
 * occurrence in the frame (the outer header), an array is every occurrence in order (an ICMP
 * error's quoted header adds a second `ip.*`).
 */
export interface CorpusFrame {
  name: string;
  frame: Uint8Array;
  expect: Record<string, string | string[]>;
}

export const MAC_A = parseMac("02:00:00:00:00:0a")!;
export const MAC_B = parseMac("02:00:00:00:00:0b")!;
export const IP_A = parseIpv4("10.0.0.1")!;
export const IP_B = parseIpv4("10.0.0.2")!;

const hex16 = (v: number) => `0x${v.toString(16).padStart(4, "0")}`;
const bit = (b: boolean | undefined) => (b ? "1" : "0");

function eth(etherType: number, payload: Uint8Array, extra: Partial<EthernetHeader> = {}): Uint8Array {
  const h: EthernetHeader = { destination: MAC_B, source: MAC_A, etherType, ...extra };
  return encodeEthernet(h, payload).slice();
}

/** What tshark must show for an IPv4 header we encoded (`bytes` is the datagram, for the checksum we wrote). */
function ipFields(h: Ipv4Header, bytes: Uint8Array): Record<string, string> {
  return {
    "ip.version": "4",
    "ip.hdr_len": String(ipv4HeaderLength(h)),
    "ip.dsfield.dscp": String(h.dscp ?? 0),
    "ip.dsfield.ecn": String(h.ecn ?? 0),
    "ip.len": String(u16(bytes, 2)),
    "ip.id": hex16(h.identification ?? 0),
    "ip.flags.rb": bit(h.reservedFlag),
    "ip.flags.df": bit(h.dontFragment),
    "ip.flags.mf": bit(h.moreFragments),
    "ip.frag_offset": String((h.fragmentOffset ?? 0) / 8),
    "ip.ttl": String(h.ttl ?? 64),
    "ip.proto": String(h.protocol),
    "ip.checksum": hex16(u16(bytes, 10)),
    "ip.checksum.status": "1",
    "ip.src": formatIpv4(h.source),
    "ip.dst": formatIpv4(h.destination),
  };
}

function ipFrame(
  name: string,
  h: Ipv4Header,
  payload: Uint8Array,
  more: Record<string, string | string[]> = {},
): CorpusFrame {
  const datagram = encodeIpv4(h, payload);
  return { name, frame: eth(EtherType.Ipv4, datagram), expect: { ...ipFields(h, datagram), ...more } };
}

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);

// ---------------------------------------------------------------------------------------------- ARP

function arpFrames(): CorpusFrame[] {
  const request = {
    op: ArpOp.Request,
    senderMac: MAC_A,
    senderIp: IP_A,
    targetMac: ZERO_MAC,
    targetIp: IP_B,
  };
  const reply = { op: ArpOp.Reply, senderMac: MAC_B, senderIp: IP_B, targetMac: MAC_A, targetIp: IP_A };
  const arpExpect = (h: ArpHeader) => ({
    "arp.hw.type": "1",
    "arp.proto.type": "0x0800",
    "arp.hw.size": "6",
    "arp.proto.size": "4",
    "arp.opcode": String(h.op),
    "arp.src.hw_mac": formatMac(h.senderMac),
    "arp.src.proto_ipv4": formatIpv4(h.senderIp),
    "arp.dst.hw_mac": formatMac(h.targetMac),
    "arp.dst.proto_ipv4": formatIpv4(h.targetIp),
  });
  return [
    {
      name: "ARP request, broadcast, unpadded 42 bytes",
      frame: eth(EtherType.Arp, encodeArp(request), { destination: BROADCAST_MAC }).subarray(0, 42),
      expect: { ...arpExpect(request), "eth.dst": "ff:ff:ff:ff:ff:ff", "frame.len": "42" },
    },
    {
      name: "ARP reply padded to 60 bytes",
      frame: eth(EtherType.Arp, encodeArp(reply), { destination: MAC_A, source: MAC_B }),
      expect: {
        ...arpExpect(reply),
        "frame.len": "60",
        "eth.padding": "00".repeat(18).replace(/(..)(?=.)/g, "$1:"),
      },
    },
    {
      name: "gratuitous ARP request",
      frame: eth(
        EtherType.Arp,
        encodeArp({
          op: ArpOp.Request,
          senderMac: MAC_A,
          senderIp: IP_A,
          targetMac: ZERO_MAC,
          targetIp: IP_A,
        }),
        { destination: BROADCAST_MAC },
      ),
      expect: { "arp.opcode": "1", "arp.isgratuitous": "1", "arp.dst.proto_ipv4": "10.0.0.1" },
    },
  ];
}

// --------------------------------------------------------------------------------------------- IPv4

/** Experimental protocol number (RFC 3692): tshark shows the payload as data, nothing to confuse it. */
const EXPERIMENTAL = 253;

function ipv4Frames(): CorpusFrame[] {
  const base: Ipv4Header = {
    protocol: EXPERIMENTAL,
    source: IP_A,
    destination: IP_B,
    identification: 0x1001,
  };
  const o = (type: number, data: number[] = []) => ({ type, data: Uint8Array.from(data) });
  const ip4 = (a: number) => [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255];
  const r1 = parseIpv4("192.0.2.1")!;
  const r2 = parseIpv4("192.0.2.2")!;
  const list: [string, Uint8Array, Partial<Ipv4Header>, number, Record<string, string | string[]>][] = [
    ["no options, 1-byte payload", new Uint8Array(0), {}, 1, {}],
    [
      "no options, DSCP EF, ECN CE, TTL 1, DF",
      new Uint8Array(0),
      { dscp: 46, ecn: 3, ttl: 1, dontFragment: true },
      7,
      {},
    ],
    ["Router Alert (RFC 2113)", encodeIpv4Options([o(148, [0, 0])]), {}, 3, { "ip.opt.ra": "0" }],
    [
      "NOP, NOP, Record Route with one of three slots used",
      encodeIpv4Options([o(1), o(1), o(7, [8, ...ip4(r1), 0, 0, 0, 0, 0, 0, 0, 0])]),
      {},
      5,
      { "ip.opt.type": ["1", "1", "7", "0"], "ip.opt.ptr": "8", "ip.rec_rt": ["192.0.2.1"] },
    ],
    [
      "Timestamp, timestamps only (flag 0)",
      encodeIpv4Options([o(68, [9, 0x00, 0, 0x12, 0x34, 0x56, 0, 0, 0, 0])]),
      {},
      9,
      { "ip.opt.type": "68", "ip.opt.ptr": "9", "ip.opt.flag": "0x00", "ip.opt.overflow": "0" },
    ],
    [
      "Timestamp with addresses (flag 1)",
      encodeIpv4Options([o(68, [13, 0x01, ...ip4(r1), 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0])]),
      {},
      11,
      { "ip.opt.ptr": "13", "ip.opt.flag": "0x01", "ip.opt.time_stamp_addr": ["192.0.2.1", "0.0.0.0"] },
    ],
    [
      "Timestamp prespecified (flag 3)",
      encodeIpv4Options([o(68, [5, 0x03, ...ip4(r1), 0, 0, 0, 0, ...ip4(r2), 0, 0, 0, 0])]),
      {},
      13,
      { "ip.opt.flag": "0x03", "ip.opt.time_stamp_addr": ["192.0.2.1", "192.0.2.2"] },
    ],
    [
      "Loose Source and Record Route",
      encodeIpv4Options([o(131, [4, ...ip4(r1), ...ip4(r2)])]),
      {},
      15,
      // tshark shows the route's last hop as the final destination and the header's as the current hop.
      {
        "ip.opt.type": "131",
        "ip.opt.ptr": "4",
        "ip.src_rt": ["192.0.2.1"],
        "ip.dst": "192.0.2.2",
        "ip.cur_rt": "10.0.0.2",
      },
    ],
    [
      "Strict Source and Record Route, route done",
      encodeIpv4Options([o(137, [12, ...ip4(r1), ...ip4(r2)])]),
      {},
      17,
      { "ip.opt.type": "137", "ip.opt.ptr": "12" },
    ],
    [
      "Security (RFC 1108), Unclassified",
      encodeIpv4Options([o(130, [0xab, 0x00])]),
      {},
      19,
      { "ip.opt.type": "130", "ip.opt.sec_cl": "0xab" },
    ],
    ["Stream Identifier", encodeIpv4Options([o(136, [0x12, 0x34])]), {}, 21, { "ip.opt.sid": "4660" }],
    [
      "Traceroute (RFC 1393)",
      encodeIpv4Options([o(82, [0xab, 0xcd, 0, 3, 0, 4, ...ip4(r1)])]),
      {},
      23,
      { "ip.opt.id_number": "43981", "ip.opt.ohc": "3", "ip.opt.rhc": "4", "ip.opt.originator": "192.0.2.1" },
    ],
    [
      "an unknown (experimental, RFC 4727) option kept as is",
      encodeIpv4Options([o(0x9e, [1, 2, 3, 4])]),
      {},
      25,
      { "Unknown (0x9e) (6 bytes)": "", "ip.opt.type": ["0"] },
    ],
    [
      "NOP, End of Option List, then padding",
      encodeIpv4Options([o(1), o(0)]),
      {},
      27,
      { "ip.hdr_len": "24", "ip.opt.type": ["1", "0"] },
    ],
    [
      "40 bytes of options: Record Route with nine slots and End",
      encodeIpv4Options([o(7, [4, ...new Array(36).fill(0)]), o(0)]),
      {},
      29,
      { "ip.hdr_len": "60", "ip.opt.len": "39" },
    ],
  ];
  return list.map(([name, options, extra, payloadLength, more]) => {
    const h: Ipv4Header = { ...base, ...extra, ...(options.length > 0 ? { options } : {}) };
    return ipFrame(`IPv4 ${name}`, h, bytes(payloadLength), { "data.len": String(payloadLength), ...more });
  });
}

// ---------------------------------------------------------------------------------------------- UDP

/** A UDP datagram with its checksum (RFC 768), to quote in ICMP errors and to fragment. */
export function udp(
  source: number,
  destination: number,
  sport: number,
  dport: number,
  data: Uint8Array,
): Uint8Array {
  const u = new Uint8Array(8 + data.length);
  u[0] = sport >>> 8;
  u[1] = sport;
  u[2] = dport >>> 8;
  u[3] = dport;
  u[4] = u.length >>> 8;
  u[5] = u.length;
  u.set(data, 8);
  // The checksum through the TCP codec's machinery would hide bugs; use the ipv4 primitives directly.
  let c = internetChecksum(u, 0, u.length, pseudoHeaderSum(source, destination, IpProtocol.Udp, u.length));
  if (c === 0) c = 0xffff; // RFC 768: a computed zero is sent as all ones
  u[6] = c >>> 8;
  u[7] = c;
  return u;
}

// ------------------------------------------------------------------------------------ fragmentation

/** Splits `payload` into fragments of at most `mtu` bytes (offsets multiple of 8), RFC 791 §3.2. */
function fragments(h: Ipv4Header, payload: Uint8Array, mtu: number, laterOptions?: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < payload.length) {
    const first = at === 0;
    const fh: Ipv4Header = { ...h, options: first ? h.options : laterOptions };
    if (!fh.options?.length) delete fh.options;
    const room = (mtu - ipv4HeaderLength(fh)) & ~7;
    const end = Math.min(payload.length, at + room);
    fh.fragmentOffset = at;
    fh.moreFragments = end < payload.length;
    out.push(encodeIpv4(fh, payload.subarray(at, end)));
    at = end;
  }
  return out;
}

function fragmentFrames(): CorpusFrame[] {
  // An echo request of 3009 bytes (odd), with Record Route (not copied) and Router Alert (copied).
  const echo = encodeIcmp({ type: IcmpType.EchoRequest, identifier: 0x4242, sequence: 7 }, bytes(3001, 3));
  const options = encodeIpv4Options([
    { type: 148, data: Uint8Array.of(0, 0) },
    { type: 7, data: Uint8Array.of(4, 0, 0, 0, 0) },
  ]);
  const h: Ipv4Header = {
    protocol: IpProtocol.Icmp,
    source: IP_A,
    destination: IP_B,
    identification: 0x7777,
    options,
  };
  const frags = fragments(h, echo, 1500, copiedIpv4Options(options));
  const icmpFrags: CorpusFrame[] = frags.map((f, i) => ({
    name: `fragment ${i + 1}/3 of an ICMP echo with options`,
    frame: eth(EtherType.Ipv4, f),
    expect: {
      "ip.id": "0x7777",
      "ip.flags.mf": i < 2 ? "1" : "0",
      "ip.frag_offset": String(u16(f, 6) & 0x1fff),
      "ip.len": String(f.length),
      "ip.hdr_len": i === 0 ? "32" : "24",
      "ip.checksum.status": "1",
      ...(i === 2
        ? {
            "ip.reassembled.length": "3009",
            "icmp.type": "8",
            "icmp.ident": "16962",
            "icmp.seq": "7",
            "icmp.checksum.status": "1",
          }
        : {}),
    },
  }));
  // A UDP datagram of 2000 bytes over a 576-byte MTU, without options.
  const u = udp(IP_B, IP_A, 40000, 7, bytes(1993, 5));
  const uh: Ipv4Header = {
    protocol: IpProtocol.Udp,
    source: IP_B,
    destination: IP_A,
    identification: 0x0a0b,
    ttl: 255,
  };
  const uf = fragments(uh, u, 576);
  const udpFrags: CorpusFrame[] = uf.map((f, i) => ({
    name: `fragment ${i + 1}/${uf.length} of a 2001-byte UDP datagram`,
    frame: eth(EtherType.Ipv4, f, { source: MAC_B, destination: MAC_A }),
    expect: {
      "ip.flags.mf": i < uf.length - 1 ? "1" : "0",
      "ip.frag_offset": String(i * 69),
      "ip.checksum.status": "1",
      ...(i === uf.length - 1
        ? { "ip.reassembled.length": "2001", "udp.length": "2001", "udp.checksum.status": "1" }
        : {}),
    },
  }));
  return [...icmpFrags, ...udpFrags];
}

// --------------------------------------------------------------------------------------------- ICMP

function icmpFrame(
  name: string,
  h: IcmpHeader,
  data: Uint8Array,
  ip: Partial<Ipv4Header>,
  more: Record<string, string | string[]>,
): CorpusFrame {
  const msg = encodeIcmp(h, data);
  const iph: Ipv4Header = {
    protocol: IpProtocol.Icmp,
    source: IP_B,
    destination: IP_A,
    identification: 0x2000,
    ...ip,
  };
  return ipFrame(name, iph, msg, {
    "icmp.type": String(h.type),
    "icmp.code": String(h.code ?? 0),
    "icmp.checksum": hex16(u16(msg, 2)),
    "icmp.checksum.status": "1",
    ...more,
  });
}

/** The first `keep` bytes of a datagram `h` + `payload`: what an ICMP error quotes. */
function quote(h: Ipv4Header, payload: Uint8Array, keep = ipv4HeaderLength(h) + 8): Uint8Array {
  return encodeIpv4(h, payload).slice(0, keep);
}

function icmpFrames(): CorpusFrame[] {
  const echo = (type: number, n: number, id: number, seq: number, dscp = 0) =>
    icmpFrame(
      `ICMP echo ${type === 8 ? "request" : "reply"} with ${n} bytes of data`,
      { type, identifier: id, sequence: seq },
      bytes(n, seq),
      { dscp, source: type === 8 ? IP_A : IP_B, destination: type === 8 ? IP_B : IP_A },
      { "icmp.ident": String(id), "icmp.seq": String(seq), "data.len": n ? String(n) : [] },
    );
  const udpSent = udp(IP_A, IP_B, 51000, 9, bytes(11, 9));
  const udpHeader: Ipv4Header = {
    protocol: IpProtocol.Udp,
    source: IP_A,
    destination: IP_B,
    identification: 0x3333,
    dontFragment: true,
  };
  const tcpSent = encodeTcp(
    { sourcePort: 40001, destinationPort: 80, seq: 0xdeadbeef, ack: 0x01020304, flags: 0x18, window: 502 },
    bytes(1400, 2),
    undefined,
    0,
    IP_A,
    IP_B,
  );
  const tcpHeader: Ipv4Header = {
    protocol: IpProtocol.Tcp,
    source: IP_A,
    destination: IP_B,
    identification: 0x4444,
    dontFragment: true,
  };
  const unknownHeader: Ipv4Header = {
    protocol: EXPERIMENTAL,
    source: IP_A,
    destination: IP_B,
    identification: 0x5555,
  };
  const quotedIp = (h: Ipv4Header, q: Uint8Array, outer: Ipv4Header) => ({
    "ip.src": [formatIpv4(outer.source), formatIpv4(h.source)],
    "ip.dst": [formatIpv4(outer.destination), formatIpv4(h.destination)],
    "ip.proto": ["1", String(h.protocol)],
    "ip.id": [hex16(outer.identification!), hex16(h.identification!)],
    "ip.checksum.status": ["1", "1"],
    "ip.len": [String(20 + 8 + q.length), String(u16(q, 2))],
  });
  const outer: Ipv4Header = {
    protocol: 1,
    source: IP_B,
    destination: IP_A,
    identification: 0x2000,
    dscp: 48,
  };
  const q1 = quote(udpHeader, udpSent, 20 + udpSent.length); // Linux quotes all of a small datagram
  const q2 = quote(unknownHeader, bytes(40));
  const q3 = quote(tcpHeader, tcpSent);
  const q4 = quote(udpHeader, udpSent);
  const q5 = quote(
    { ...unknownHeader, options: encodeIpv4Options([{ type: 7, data: Uint8Array.of(4) }]) },
    bytes(9),
  );
  return [
    echo(8, 56, 0x1234, 1),
    echo(0, 56, 0x1234, 1),
    echo(8, 57, 0xfffe, 65535),
    echo(0, 1, 1, 0),
    echo(8, 0, 0, 2),
    icmpFrame(
      "ICMP port unreachable quoting a whole UDP datagram",
      { type: IcmpType.DestinationUnreachable, code: UnreachableCode.Port },
      q1,
      outer,
      {
        ...quotedIp(udpHeader, q1, outer),
        "udp.srcport": "51000",
        "udp.dstport": "9",
        "udp.checksum.status": "1",
      },
    ),
    icmpFrame(
      "ICMP protocol unreachable quoting header + 8 bytes",
      { type: IcmpType.DestinationUnreachable, code: UnreachableCode.Protocol },
      q2,
      outer,
      quotedIp(unknownHeader, q2, outer),
    ),
    icmpFrame(
      "ICMP fragmentation needed, next-hop MTU 1400, quoting a TCP segment's first 8 bytes",
      { type: IcmpType.DestinationUnreachable, code: UnreachableCode.FragmentationNeeded, nextHopMtu: 1400 },
      q3,
      outer,
      {
        ...quotedIp(tcpHeader, q3, outer),
        "icmp.mtu": "1400",
        "tcp.srcport": "40001",
        "tcp.dstport": "80",
        "tcp.seq": "3735928559",
      },
    ),
    icmpFrame(
      "ICMP host unreachable",
      { type: IcmpType.DestinationUnreachable, code: UnreachableCode.Host },
      q4,
      outer,
      quotedIp(udpHeader, q4, outer),
    ),
    icmpFrame(
      "ICMP time exceeded in transit",
      { type: IcmpType.TimeExceeded, code: TimeExceededCode.TtlExceeded },
      q4,
      outer,
      quotedIp(udpHeader, q4, outer),
    ),
    icmpFrame(
      "ICMP fragment reassembly time exceeded",
      { type: IcmpType.TimeExceeded, code: TimeExceededCode.FragmentReassembly },
      q2,
      outer,
      quotedIp(unknownHeader, q2, outer),
    ),
    icmpFrame(
      "ICMP parameter problem pointing at an option",
      { type: IcmpType.ParameterProblem, pointer: 20 },
      q5,
      outer,
      { "icmp.pointer": "20", "ip.hdr_len": ["20", "24"] },
    ),
  ];
}

// ---------------------------------------------------------------------------------------------- TCP

function tcpFrame(
  name: string,
  h: TcpHeader,
  payload: Uint8Array,
  more: Record<string, string | string[]> = {},
  vlan?: number,
): CorpusFrame {
  const segment = encodeTcp(h, payload, undefined, 0, IP_A, IP_B);
  const iph: Ipv4Header = {
    protocol: IpProtocol.Tcp,
    source: IP_A,
    destination: IP_B,
    identification: 0x6000,
    dontFragment: true,
  };
  const datagram = encodeIpv4(iph, segment);
  const f = (flag: number) => ((h.flags & flag) !== 0 ? "1" : "0");
  return {
    name,
    frame: eth(EtherType.Ipv4, datagram, vlan === undefined ? {} : { vlan: { id: vlan, priority: 3 } }),
    expect: {
      ...ipFields(iph, datagram),
      "tcp.srcport": String(h.sourcePort),
      "tcp.dstport": String(h.destinationPort),
      "tcp.seq_raw": String(h.seq),
      "tcp.ack_raw": String(h.ack),
      "tcp.hdr_len": String(segment[12]! >>> 2),
      "tcp.flags.fin": f(0x01),
      "tcp.flags.syn": f(0x02),
      "tcp.flags.reset": f(0x04),
      "tcp.flags.push": f(0x08),
      "tcp.flags.ack": f(0x10),
      "tcp.flags.urg": f(0x20),
      "tcp.flags.ece": f(0x40),
      "tcp.flags.cwr": f(0x80),
      "tcp.window_size_value": String(h.window),
      "tcp.checksum": hex16(u16(segment, 16)),
      "tcp.checksum.status": "1",
      "tcp.urgent_pointer": String(h.urgentPointer ?? 0),
      "tcp.len": String(payload.length),
      ...more,
    },
  };
}

function tcpFrames(): CorpusFrame[] {
  const ports = { sourcePort: 52546, destinationPort: 7777 };
  const ts = (tsVal: number, tsEcr: number): TcpOption => ({ kind: 8, tsVal, tsEcr });
  const NOP: TcpOption = { kind: 1 };
  return [
    tcpFrame(
      "TCP SYN with MSS, SACK-permitted, timestamps, NOP, window scale (Linux order)",
      {
        ...ports,
        seq: 0xfc6ba10b,
        ack: 0,
        flags: 0x02,
        window: 64240,
        options: [{ kind: 2, mss: 1460 }, { kind: 4 }, ts(4234897411, 0), NOP, { kind: 3, shift: 10 }],
      },
      new Uint8Array(0),
      {
        "tcp.option_kind": ["2", "4", "8", "1", "3"],
        "tcp.options.mss_val": "1460",
        "tcp.options.sack_perm": "04:02",
        "tcp.options.timestamp.tsval": "4234897411",
        "tcp.options.timestamp.tsecr": "0",
        "tcp.options.wscale.shift": "10",
        "tcp.hdr_len": "40",
      },
    ),
    tcpFrame(
      "TCP SYN with ECE and CWR (RFC 3168 ECN setup), MSS 536, window scale 14",
      {
        ...ports,
        seq: 1,
        ack: 0,
        flags: 0xc2,
        window: 5840,
        options: [{ kind: 2, mss: 536 }, NOP, { kind: 3, shift: 14 }],
      },
      new Uint8Array(0),
      { "tcp.options.mss_val": "536", "tcp.options.wscale.shift": "14" },
    ),
    tcpFrame(
      "TCP SYN-ACK with ECE",
      {
        sourcePort: 7777,
        destinationPort: 52546,
        seq: 0x23bf5a6f,
        ack: 0xfc6ba10c,
        flags: 0x52,
        window: 65160,
        options: [{ kind: 2, mss: 1460 }, { kind: 4 }, ts(599742831, 4234897411), NOP, { kind: 3, shift: 7 }],
      },
      new Uint8Array(0),
      { "tcp.options.wscale.shift": "7" },
    ),
    tcpFrame(
      "TCP ACK with timestamps and three SACK blocks (40 option bytes)",
      {
        ...ports,
        seq: 1000,
        ack: 2000,
        flags: 0x10,
        window: 501,
        options: [NOP, NOP, ts(10, 20), NOP, NOP, { kind: 5, blocks: [3000, 3500, 4000, 4500, 5000, 6000] }],
      },
      new Uint8Array(0),
      {
        "tcp.hdr_len": "60",
        "tcp.options.sack_le": ["3000", "4000", "5000"],
        "tcp.options.sack_re": ["3500", "4500", "6000"],
        "tcp.options.sack.count": "3",
      },
    ),
    tcpFrame(
      "TCP ACK with four SACK blocks",
      {
        ...ports,
        seq: 0xffffff00,
        ack: 0xfffffff0,
        flags: 0x10,
        window: 1,
        options: [NOP, NOP, { kind: 5, blocks: [0xfffffff8, 0x8, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60] }],
      },
      new Uint8Array(0),
      // The first block wraps around 2^32.
      {
        "tcp.options.sack.count": "4",
        "tcp.options.sack_le": ["4294967288", "16", "48", "80"],
        "tcp.options.sack_re": ["8", "32", "64", "96"],
      },
    ),
    tcpFrame(
      "TCP data, PSH|ACK, 1447 bytes (odd) with timestamps",
      { ...ports, seq: 123456789, ack: 987654321, flags: 0x18, window: 502, options: [NOP, NOP, ts(1, 2)] },
      bytes(1447, 4),
    ),
    tcpFrame(
      "TCP data, 1 byte, no options",
      { ...ports, seq: 7, ack: 8, flags: 0x18, window: 65535 },
      Uint8Array.of(0x61),
    ),
    tcpFrame("TCP FIN|ACK", { ...ports, seq: 32, ack: 15, flags: 0x11, window: 63 }, new Uint8Array(0)),
    tcpFrame("TCP RST", { ...ports, seq: 5, ack: 0, flags: 0x04, window: 0 }, new Uint8Array(0)),
    tcpFrame("TCP RST|ACK", { ...ports, seq: 0, ack: 1, flags: 0x14, window: 0 }, new Uint8Array(0)),
    tcpFrame(
      "TCP URG|ACK with urgent pointer 5",
      { ...ports, seq: 100, ack: 200, flags: 0x30, window: 1000, urgentPointer: 5 },
      bytes(10),
      { "tcp.urgent_pointer": "5" },
    ),
    tcpFrame(
      "TCP with an unknown (experimental, RFC 6994) option and End of Option List",
      {
        ...ports,
        seq: 9,
        ack: 9,
        flags: 0x10,
        window: 9,
        options: [{ kind: 254, data: Uint8Array.of(0x12, 0x34, 0xab) }, { kind: 0 }],
      },
      new Uint8Array(0),
      // tshark lists each zero of the padding as another End of Option List.
      {
        "tcp.option_kind": ["254", "0", "0", "0"],
        "tcp.options.experimental.exid": "0x1234",
        "tcp.hdr_len": "28",
      },
    ),
    tcpFrame(
      "TCP in an 802.1Q VLAN 42",
      { ...ports, seq: 77, ack: 88, flags: 0x10, window: 100 },
      bytes(3),
      { "vlan.id": "42", "vlan.priority": "3" },
      42,
    ),
  ];
}

/** The whole corpus, in a fixed order. */
export function buildCorpus(): CorpusFrame[] {
  return [...arpFrames(), ...ipv4Frames(), ...fragmentFrames(), ...icmpFrames(), ...tcpFrames()];
}
