import { formatIpv4, parseCidr, parseIpv4 } from "@userstack/ipv4";
import { type Clock, type Link, memoryPair, realClock } from "@userstack/link";
import { createStack, type Stack } from "@userstack/sockets";
import type { TcpConfig } from "@userstack/tcp";
import { HostAlias, type ProxiedFlow } from "./host-alias.js";
import { type ForwardedFlow, HostForwarder } from "./host-forwarder.js";

/** Options of {@link VirtualNetwork}. QEMU's user-mode networking defaults. */
export interface VirtualNetworkOptions {
  /** The app stack's ("guest") address and prefix (default `"10.0.2.15/24"`). */
  guest?: string;
  /** The gateway's address in the virtual network, standing for the host (default `"10.0.2.2"`). */
  gateway?: string;
  /** The real address the gateway stands for (default `"127.0.0.1"`). */
  hostAddress?: string;
  /** The virtual cable's MTU (default 1500). */
  mtu?: number;
  clock?: Clock;
  /** TCP settings of the gateway's stack. */
  tcp?: Partial<TcpConfig>;
}

/**
 * An in-process virtual network in the spirit of slirp (QEMU's user-mode networking): the app's
 * stack (the "guest", 10.0.2.15) and a gateway stack (10.0.2.2) joined by an in-memory IP link.
 * The gateway is userstack too, so every connection between the host and the guest crosses
 * userstack's TCP twice: once on the cable, once in the real kernel on 127.0.0.1.
 *
 * - **Host → guest** ({@link forward}, slirp's `hostfwd`): a real `net.Server` on 127.0.0.1 whose
 *   connections the gateway carries to a guest port.
 * - **Guest → host**: the guest connects to 10.0.2.2:<port>, the gateway carries it to
 *   127.0.0.1:<port> (see {@link HostAlias}). A refused host port is refused to the guest.
 *
 * ```ts
 * const net = new VirtualNetwork();
 * const app = createStack({ link: net.guestLink, ipv4: net.guest, gateway: net.gatewayAddress });
 * app.createServer((s) => s.pipe(s)).listen(7);
 * await net.forward(7007, 7); // `nc 127.0.0.1 7007` now talks to the stack
 * ```
 */
export class VirtualNetwork {
  /** The guest's end of the cable: build the app's stack on it. */
  readonly guestLink: Link;
  /** The guest's address with its prefix, e.g. `"10.0.2.15/24"`. */
  readonly guest: string;
  /** The guest's address, e.g. `"10.0.2.15"`. */
  readonly guestAddress: string;
  /** The gateway's address, e.g. `"10.0.2.2"`: the guest's default route and its name for the host. */
  readonly gatewayAddress: string;
  /** What the gateway stands for on the host, e.g. `"127.0.0.1"`. */
  readonly hostAddress: string;
  /** The gateway's stack. */
  readonly gatewayStack: Stack;
  private readonly alias: HostAlias;
  private readonly forwarders: HostForwarder[] = [];

  constructor(options: VirtualNetworkOptions = {}) {
    this.guest = options.guest ?? "10.0.2.15/24";
    const cidr = parseCidr(this.guest);
    if (cidr === undefined)
      throw new RangeError(`VirtualNetwork: guest must be like "10.0.2.15/24", got "${this.guest}".`);
    this.guestAddress = formatIpv4(cidr.address);
    this.gatewayAddress = options.gateway ?? "10.0.2.2";
    const gw = parseIpv4(this.gatewayAddress);
    if (gw === undefined)
      throw new RangeError(`VirtualNetwork: gateway must be an IPv4 address, got "${this.gatewayAddress}".`);
    this.hostAddress = options.hostAddress ?? "127.0.0.1";
    const clock = options.clock ?? realClock();
    const [guestEnd, gatewayEnd] = memoryPair({
      medium: "ip",
      mtu: options.mtu ?? 1500,
      clock,
      queueLimit: 4096,
    });
    this.guestLink = guestEnd;
    this.alias = new HostAlias(gatewayEnd, gw, this.hostAddress);
    this.gatewayStack = createStack({
      link: this.alias,
      ipv4: `${this.gatewayAddress}/${cidr.prefix}`,
      clock,
      tcp: options.tcp,
    });
    this.alias.bind(this.gatewayStack);
  }

  /**
   * Forwards `hostAddress:hostPort` (a real listening socket; port 0 picks a free one) to
   * `guestPort` of the guest. Resolves once listening; {@link HostForwarder.port} tells the port.
   */
  async forward(hostPort: number, guestPort: number, hostAddress = this.hostAddress): Promise<HostForwarder> {
    const f = new HostForwarder(
      this.gatewayStack,
      { address: this.guestAddress, port: guestPort },
      { address: hostAddress, port: hostPort },
    );
    await f.listen();
    this.forwarders.push(f);
    return f;
  }

  /** Host ports forwarded into the guest. */
  get forwarded(): readonly HostForwarder[] {
    return this.forwarders;
  }

  /** Connections carried now: host → guest through the forwarders, guest → host through the alias. */
  flows(): { forwarded: ForwardedFlow[]; proxied: ProxiedFlow[] } {
    return { forwarded: this.forwarders.flatMap((f) => f.flows()), proxied: this.alias.flows() };
  }

  /** Stops forwarding (ending carried connections with FINs, bounded), then closes the gateway. */
  async close(): Promise<void> {
    await Promise.all(this.forwarders.map((f) => f.close()));
    await this.gatewayStack.close();
  }
}
