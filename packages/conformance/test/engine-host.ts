// A minimal host composed of the ARP, IPv4 and ICMP engines on a Link, for the kernel-peer test:
// the glue a stack would be (packages/sockets owns the real one). Real time drives the engines'
// deadlines through one re-armed timer; frames are built in the IPv4 engine's reused buffer with
// 14 bytes of headroom for the Ethernet header.
import { NeighborCache } from "@userstack/arp";
import {
  BROADCAST_MAC,
  decodeEthernet,
  EtherType,
  isBroadcastMac,
  isMulticastMac,
  macEqual,
  writeEthernetHeader,
} from "@userstack/ethernet";
import {
  IcmpEngine,
  type IcmpErrorReport,
  type PingReply,
  type PingTimeout,
  UnreachableCode,
} from "@userstack/icmp";
import { IpProtocol, type Ipv4Cidr, Ipv4Interface } from "@userstack/ipv4";
import type { Link } from "@userstack/link";
import { DecodeError } from "@userstack/wire";
import { udp } from "../src/corpus.js";

export class EngineHost {
  readonly arp: NeighborCache<Uint8Array>;
  readonly ip: Ipv4Interface;
  readonly icmp: IcmpEngine;
  readonly errors: IcmpErrorReport[] = [];
  readonly replies: PingReply[] = [];
  readonly timeouts: PingTimeout[] = [];
  /** ARP resolutions that failed, with the number of datagrams dropped (EHOSTUNREACH for their senders). */
  readonly unreachable: { ip: number; packets: number }[] = [];
  /** Frames of other EtherTypes (the kernel's IPv6 chatter), ignored. */
  otherFrames = 0;
  private readonly arpFrame = new Uint8Array(42);
  private timer: ReturnType<typeof setTimeout> | undefined;
  private linkBroadcast = false;

  constructor(
    private readonly link: Link,
    private readonly mac: Uint8Array,
    cidr: Ipv4Cidr,
  ) {
    const now = () => performance.now();
    this.arp = new NeighborCache<Uint8Array>(
      { mac, addresses: [cidr.address] },
      {
        sendArp: (packet, destination) => {
          writeEthernetHeader({ destination, source: mac, etherType: EtherType.Arp }, this.arpFrame);
          this.arpFrame.set(packet, 14);
          link.send(this.arpFrame);
        },
        resolved: (_, dst, packets) => {
          for (const frame of packets) {
            frame.set(dst, 0);
            link.send(frame);
          }
        },
        unreachable: (ip, packets) => this.unreachable.push({ ip, packets: packets.length }),
      },
    );
    this.ip = new Ipv4Interface(
      { address: cidr, mtu: link.mtu, headroom: 14 },
      {
        transmit: (frame, hop) => {
          const dst = this.ip.isBroadcast(hop) ? BROADCAST_MAC : this.arp.lookup(hop, now());
          writeEthernetHeader(
            { destination: dst ?? BROADCAST_MAC, source: mac, etherType: EtherType.Ipv4 },
            frame,
          );
          if (dst) link.send(frame);
          else this.arp.enqueue(hop, frame.slice(), now());
        },
        deliver: (datagram, broadcast) => {
          const b = broadcast || this.linkBroadcast;
          if (datagram.protocol === IpProtocol.Icmp) this.icmp.receive(datagram, b, now());
          else if (datagram.protocol === IpProtocol.Udp)
            this.icmp.destinationUnreachable(datagram, UnreachableCode.Port, b, now()); // no UDP sockets here
          else if (datagram.protocol !== IpProtocol.Tcp)
            this.icmp.destinationUnreachable(datagram, UnreachableCode.Protocol, b, now());
        },
        reassemblyTimeout: (first) => this.icmp.reassemblyTimeExceeded(first, now()),
      },
    );
    this.icmp = new IcmpEngine(
      { address: cidr.address, isBroadcast: (a) => this.ip.isBroadcast(a) },
      {
        send: (to, message) => this.ip.send(to, IpProtocol.Icmp, message, now()),
        error: (r) => this.errors.push({ ...r, quote: r.quote.slice() }),
        pingReply: (r) => this.replies.push(r),
        pingTimeout: (t) => this.timeouts.push(t),
      },
    );
    link.attach({
      receive: (frame) => this.receive(frame, now()),
      flush: () => this.arm(),
    });
  }

  /** Gratuitous ARP, then the timers. */
  start(): void {
    this.arp.start(performance.now());
    this.arm();
  }

  ping(destination: number, size = 56, timeoutMs = 2000): number {
    const seq = this.icmp.ping(destination, performance.now(), size, timeoutMs);
    this.arm();
    return seq;
  }

  sendUdp(destination: number, sourcePort: number, destinationPort: number, data: Uint8Array): string {
    const r = this.ip.send(
      destination,
      IpProtocol.Udp,
      udp(this.ip.address, destination, sourcePort, destinationPort, data),
      performance.now(),
    );
    this.arm();
    return r;
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.link.close();
  }

  private receive(frame: Uint8Array, now: number): void {
    const eth = decodeEthernet(frame);
    if (eth instanceof DecodeError) return;
    const d = eth.destination;
    if (!macEqual(d, this.mac) && !isBroadcastMac(d)) return; // not ours, or multicast we did not join
    this.linkBroadcast = isMulticastMac(d);
    if (eth.etherType === EtherType.Arp) this.arp.receive(eth.payload, now);
    else if (eth.etherType === EtherType.Ipv4) this.ip.receive(frame, now, eth.headerLength);
    else this.otherFrames++;
  }

  /** Re-arms the one timer at the earliest deadline of the three engines. */
  private arm(): void {
    const ds = [this.arp.deadline(), this.ip.deadline(), this.icmp.deadline()].filter((d) => d !== undefined);
    clearTimeout(this.timer);
    this.timer = undefined;
    if (ds.length === 0) return;
    const wait = Math.max(0, Math.min(...ds) - performance.now());
    this.timer = setTimeout(() => {
      const now = performance.now();
      this.arp.poll(now);
      this.ip.poll(now);
      this.icmp.poll(now);
      this.arm();
    }, wait + 1);
  }
}
