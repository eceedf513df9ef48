import {
  decodeIpv4,
  IpProtocol,
  type Ipv4Cidr,
  inSubnet,
  prefixMask,
  writeIpv4Header,
} from "@userstack/ipv4";
import type { Link } from "@userstack/link";
import type { TcpSegmentOut } from "@userstack/tcp";
import { writeTcpSegment } from "@userstack/tcp";
import { DecodeError, randomU32 } from "@userstack/wire";
import type { NetworkPath, PathReceiver } from "./network-path.js";

const IPV4_HEADER = 20;

/** Options of a {@link LinkPath}. */
export interface LinkPathOptions {
  /** Our address and prefix. */
  ipv4: Ipv4Cidr;
  /** Default gateway, or undefined for on-link only. */
  gateway?: number;
}

/** Counters of the IPv4 layer over a link. */
export interface LinkPathCounters {
  framesIn: number;
  ipMalformed: number;
  ipNotForUs: number;
  ipFragmentsDropped: number;
  ipUnknownProtocol: number;
  /** Datagrams the stack produced larger than the link's MTU (with DF), dropped. */
  ipOversizeDropped: number;
  [key: string]: number;
}

/**
 * IPv4 over a {@link Link} for the stack: decodes what arrives, hands TCP segments up, and writes
 * IPv4 (and, on Ethernet, the frame header) around what TCP sends, in one reused buffer: the link
 * contract lends frames, so nothing is allocated per segment.
 */
export class LinkPath implements NetworkPath {
  readonly counters: LinkPathCounters = {
    framesIn: 0,
    ipMalformed: 0,
    ipNotForUs: 0,
    ipFragmentsDropped: 0,
    ipUnknownProtocol: 0,
    ipOversizeDropped: 0,
  };
  private readonly out: Uint8Array;
  private identification = randomU32() & 0xffff;

  constructor(
    private readonly link: Link,
    private readonly rx: PathReceiver,
    private readonly options: LinkPathOptions,
  ) {
    if (link.medium !== "ip") {
      throw new Error("LinkPath: Ethernet links need the ARP engine; use an IP-medium link for now.");
    }
    // Room for the largest IPv4 datagram, so writing never overruns; the MTU is checked after.
    this.out = new Uint8Array(65536 + 18);
    link.attach({
      receive: (frame) => this.receive(frame),
      flush: () => rx.flush(),
    });
  }

  get localAddress(): number {
    return this.options.ipv4.address;
  }

  mtu(): number {
    return this.link.mtu;
  }

  routeError(destination: number): "EHOSTUNREACH" | "ENETUNREACH" | undefined {
    if (inSubnet(destination, this.options.ipv4) || this.options.gateway !== undefined) return undefined;
    if (this.options.ipv4.prefix === 0 || prefixMask(this.options.ipv4.prefix) === 0) return undefined;
    return "ENETUNREACH";
  }

  sendTcp(segment: TcpSegmentOut): void {
    const out = this.out;
    const end = writeTcpSegment(segment, out, IPV4_HEADER);
    writeIpv4Header(
      {
        protocol: IpProtocol.Tcp,
        source: segment.localAddress,
        destination: segment.remoteAddress,
        identification: this.nextId(),
        dontFragment: true, // RFC 1191 path MTU discovery, as Linux does for TCP
        payloadLength: end - IPV4_HEADER,
      },
      out,
      0,
    );
    if (end > this.link.mtu) {
      this.counters.ipOversizeDropped++;
      return;
    }
    this.link.send(out.subarray(0, end));
  }

  flush(): void {}

  close(): Promise<void> {
    return this.link.close();
  }

  private nextId(): number {
    this.identification = (this.identification + 1) & 0xffff;
    return this.identification;
  }

  private receive(frame: Uint8Array): void {
    this.counters.framesIn++;
    this.rx.now();
    const ip = decodeIpv4(frame);
    if (ip instanceof DecodeError) {
      this.counters.ipMalformed++;
      return;
    }
    if (ip.destination !== this.options.ipv4.address) {
      this.counters.ipNotForUs++;
      return;
    }
    if (ip.moreFragments || ip.fragmentOffset !== 0) {
      this.counters.ipFragmentsDropped++;
      return;
    }
    if (ip.protocol === IpProtocol.Tcp) this.rx.tcpSegment(ip.source, ip.destination, ip.payload);
    else this.counters.ipUnknownProtocol++;
  }
}
