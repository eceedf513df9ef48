import { formatIpv4 } from "@userstack/ipv4";
import type { NetworkLayer } from "@userstack/link";
import { TCP_PROTOCOL, type TcpSegmentOut, writeTcpSegment } from "@userstack/tcp";
import type { InterfaceInfo, NetworkPath, PathReceiver } from "./network-path.js";

/** IPv4 header bytes a NetworkLayer's segments stand in for when TCP sizes its MSS. */
const IPV4_HEADER = 20;

/**
 * TCP straight over a {@link NetworkLayer} (the chiTCP-style tunnel): segments are built in one
 * reused buffer and handed over; no Ethernet, no IP header, no ARP.
 */
export class NetworkLayerPath implements NetworkPath {
  private readonly out = new Uint8Array(65536);

  constructor(
    private readonly net: NetworkLayer,
    rx: PathReceiver,
  ) {
    net.attach({
      receive(source, destination, protocol, segment) {
        if (protocol === TCP_PROTOCOL) rx.tcpSegment(source, destination, segment, 0, segment.length);
      },
      flush: () => rx.flush(),
    });
  }

  get localAddress(): number {
    return this.net.localAddress;
  }

  mtu(destination: number): number {
    return this.net.pathMtu(destination) + IPV4_HEADER;
  }

  routeError(): undefined {
    return undefined;
  }

  sendTcp(segment: TcpSegmentOut): void {
    const end = writeTcpSegment(segment, this.out, 0);
    this.net.send(segment.remoteAddress, TCP_PROTOCOL, this.out.subarray(0, end));
  }

  flush(): void {}

  info(): InterfaceInfo {
    const stats = (this.net as { stats?: object }).stats ?? {};
    const counters: Record<string, number> = {};
    for (const [k, v] of Object.entries(stats)) if (typeof v === "number") counters[`network.${k}`] = v;
    return {
      medium: "network-layer",
      address: formatIpv4(this.net.localAddress),
      mtu: this.mtu(0),
      counters,
    };
  }

  close(): Promise<void> {
    return this.net.close();
  }
}
