// A stand-in for the stack in the kernel-peer tests: answers ARP requests for one address and ICMP
// echo requests to it, built with the project's codecs, and records what it saw. It only proves the
// links; the real stack arrives with packages/sockets.
import { ArpOp, decodeArp, writeArp } from "@userstack/arp";
import {
  decodeEthernet,
  EtherType,
  isBroadcastMac,
  macEqual,
  writeEthernetHeader,
} from "@userstack/ethernet";
import { decodeIcmp, IcmpType, writeIcmpHeader } from "@userstack/icmp";
import { decodeIpv4, IpProtocol, writeIpv4Header } from "@userstack/ipv4";
import type { Link, Receiver } from "@userstack/link";
import { DecodeError } from "@userstack/wire";

/** Answers ARP and ping for `ip` on `link` (with `mac` on an Ethernet link). */
export class EchoResponder implements Receiver {
  frames = 0;
  flushes = 0;
  arpRequests = 0;
  arpReplies = 0;
  /** Sequence numbers of the echo requests answered, in order. */
  sequences: number[] = [];
  /** Sizes of the ICMP messages of the echo requests answered. */
  echoSizes: number[] = [];
  /** Frames whose decoders returned a DecodeError (bad checksums included). */
  malformed = 0;
  /** Frames that carried our own source MAC: a link reading back what it sent. */
  ownFrames = 0;
  /** Frames delivered after the test said the link was closed. */
  afterClose = 0;
  closed = false;
  /** How many frames of each EtherType arrived (on an IP link, by the packet's version; -v for another version v). */
  readonly kinds = new Map<number, number>();
  private readonly out = new Uint8Array(65536 + 64);

  constructor(
    private readonly link: Link,
    private readonly ip: number,
    private readonly mac?: Uint8Array,
  ) {}

  receive(frame: Uint8Array): void {
    this.frames++;
    if (this.closed) this.afterClose++;
    if (this.link.medium === "ip") {
      // A bare IP packet: the version nibble says which (recorded under the matching EtherType).
      const version = (frame[0] ?? 0) >>> 4;
      const kind = version === 4 ? EtherType.Ipv4 : version === 6 ? EtherType.Ipv6 : -version;
      this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
      if (version === 4) this.onIp(frame, 0, undefined);
      return;
    }
    const eth = decodeEthernet(frame);
    if (eth instanceof DecodeError) {
      this.malformed++;
      return;
    }
    this.kinds.set(eth.etherType, (this.kinds.get(eth.etherType) ?? 0) + 1);
    const mac = this.mac!;
    if (macEqual(eth.source, mac)) this.ownFrames++;
    if (!macEqual(eth.destination, mac) && !isBroadcastMac(eth.destination)) return;
    if (eth.etherType === EtherType.Arp) this.onArp(eth.payload, mac);
    else if (eth.etherType === EtherType.Ipv4) this.onIp(eth.payload, 14, eth.source);
  }

  flush(): void {
    this.flushes++;
  }

  // RFC 826 "Packet Reception": a request for our protocol address gets a reply with our hardware
  // address, sent to the requester's hardware address.
  private onArp(bytes: Uint8Array, mac: Uint8Array): void {
    const arp = decodeArp(bytes);
    if (arp instanceof DecodeError) {
      this.malformed++;
      return;
    }
    if (arp.op !== ArpOp.Request || arp.targetIp !== this.ip) return;
    this.arpRequests++;
    const at = writeEthernetHeader(
      { destination: arp.senderMac, source: mac, etherType: EtherType.Arp },
      this.out,
      0,
    );
    const end = writeArp(
      {
        op: ArpOp.Reply,
        senderMac: mac,
        senderIp: this.ip,
        targetMac: arp.senderMac,
        targetIp: arp.senderIp,
      },
      this.out,
      at,
    );
    this.link.send(this.out.subarray(0, end));
    this.arpReplies++;
  }

  // RFC 792 "Echo or Echo Reply": the reply swaps the addresses, changes the type to 0 and
  // recomputes the checksum; identifier, sequence and data are returned unchanged.
  private onIp(bytes: Uint8Array, at: number, peerMac: Uint8Array | undefined): void {
    const ip = decodeIpv4(bytes);
    if (ip instanceof DecodeError) {
      this.malformed++;
      return;
    }
    if (ip.destination !== this.ip || ip.protocol !== IpProtocol.Icmp || ip.isFragment) return;
    const icmp = decodeIcmp(ip.payload);
    if (icmp instanceof DecodeError) {
      this.malformed++;
      return;
    }
    if (icmp.type !== IcmpType.EchoRequest) return;
    this.sequences.push(icmp.sequence);
    this.echoSizes.push(icmp.bytes.length);
    if (peerMac)
      writeEthernetHeader(
        { destination: peerMac, source: this.mac!, etherType: EtherType.Ipv4 },
        this.out,
        0,
      );
    const icmpAt = writeIpv4Header(
      {
        protocol: IpProtocol.Icmp,
        source: this.ip,
        destination: ip.source,
        payloadLength: icmp.bytes.length,
      },
      this.out,
      at,
    );
    this.out.set(icmp.data, icmpAt + 8);
    writeIcmpHeader(
      { type: IcmpType.EchoReply, identifier: icmp.identifier, sequence: icmp.sequence },
      this.out,
      icmpAt,
      icmp.data.length,
    );
    this.link.send(this.out.subarray(0, icmpAt + icmp.bytes.length));
  }
}
