import { parseIpv4 } from "@userstack/ipv4";
import { type Clock, type Link, type NetworkLayer, realClock, withCapture } from "@userstack/link";
import { fileSink } from "@userstack/pcap/node";
import { createStack, type Stack } from "@userstack/sockets";
import type { TcpConfig } from "@userstack/tcp";
import type { DriverConfig, DriverName } from "./driver-options.js";
import {
  newTrafficCounters,
  type TrafficCounters,
  withCounters,
  withNetworkCounters,
} from "./traffic-counters.js";
import { UsageError } from "./usage-error.js";
import { VirtualNetwork } from "./virtual-network.js";

/** What a program adds to {@link openNetwork}. */
export interface OpenNetworkOptions {
  /** Servers listen on the tunnel's default port; clients take any free one. Default "server". */
  role?: "server" | "client";
  /** Wraps the link the stack sends on (outside capture and counting), e.g. to record segments. */
  wrapLink?: (link: Link) => Link;
  /** The same for the tunnel's network layer. */
  wrapNetwork?: (layer: NetworkLayer) => NetworkLayer;
  clock?: Clock;
  /** Extra TCP settings (the config's `mss` is applied on top). */
  tcp?: Partial<TcpConfig>;
}

/** One interface of the stack, as a status page or `ip addr` shows it. */
export interface InterfaceInfo {
  name: string;
  driver: DriverName;
  medium: "ip" | "ethernet" | "tunnel";
  /** Address with prefix (links) or the host address (tunnel). */
  address: string;
  mtu: number;
  /** Lines saying how the interface reaches the world. */
  notes: string[];
  counters: TrafficCounters;
}

/**
 * A stack opened on a driver by {@link openNetwork}: the stack, how it is attached, and one
 * `close()` that ends it all and flushes the capture.
 */
export class NetworkSession {
  /** The memory driver's virtual network (forwarders live there). */
  virtual: VirtualNetwork | undefined;
  /** The tunnel driver's network layer. */
  tunnel: import("@userstack/driver-tunnel").Tunnel | undefined;
  readonly counters = newTrafficCounters();
  /** The tap/tun device. */
  device: { name: string; netns?: string; medium: "ip" | "ethernet"; mtu: number } | undefined;
  stack!: Stack;

  constructor(readonly config: DriverConfig) {}

  /** The interfaces of the stack (one: userstack stacks have one path). */
  interfaces(): InterfaceInfo[] {
    const c = this.config;
    const base = { driver: c.driver, counters: this.counters };
    if (this.virtual !== undefined) {
      const v = this.virtual;
      return [
        {
          ...base,
          name: "mem0",
          medium: "ip",
          address: v.guest,
          mtu: v.guestLink.mtu,
          notes: [
            `in-memory cable to the gateway ${v.gatewayAddress}, which stands for this machine's ${v.hostAddress} (like slirp)`,
            ...v.forwarded.map(
              (f) => `forwarding ${f.host.address}:${f.port} → ${f.guest.address}:${f.guest.port} (hostfwd)`,
            ),
          ],
        },
      ];
    }
    if (this.tunnel !== undefined) {
      const t = this.tunnel;
      return [
        {
          ...base,
          name: "tunnel",
          medium: "tunnel",
          address: t.address,
          mtu: t.pathMtu(0),
          notes: [
            `${t.mode} framing, listening on ${t.address}:${t.port}`,
            ...t.peers().map((p) => `peer ${p.endpoint}: ${p.state}`),
          ],
        },
      ];
    }
    const d = this.device!;
    return [
      {
        ...base,
        name: d.name,
        medium: d.medium,
        address: c.address ?? "10.0.0.2/24",
        mtu: d.mtu,
        notes: [
          `${c.driver.toUpperCase()} device ${d.name}${d.netns ? ` in network namespace ${d.netns}` : ""}`,
          ...(c.gateway ? [`default route via ${c.gateway}`] : []),
        ],
      },
    ];
  }

  /**
   * The address the stack dials for one a user typed: on the memory driver 127.0.0.1 (or
   * localhost) becomes the gateway, which carries the connection to the host.
   */
  dialAddress(typed: string): string {
    const v = this.virtual;
    if (v !== undefined) {
      if (typed === "localhost" || typed === v.hostAddress || typed === v.gatewayAddress)
        return v.gatewayAddress;
      throw new UsageError(
        `with --driver memory the stack reaches only this machine, so the server address must be ${v.hostAddress} (or ${v.gatewayAddress}), not "${typed}"; use --driver tap, tun or tunnel for other hosts.`,
      );
    }
    if (typed === "localhost" && this.tunnel !== undefined) return "127.0.0.1";
    if (parseIpv4(typed) === undefined)
      throw new UsageError(
        `the server address must be an IPv4 address like 10.0.0.1 (there is no DNS), not "${typed}".`,
      );
    return typed;
  }

  /** Closes the stack (resetting what is still open), the gateway and forwarders; flushes the capture. */
  async close(): Promise<void> {
    await this.virtual?.close();
    await this.stack?.close();
  }
}

/**
 * Opens a stack on the driver `config` names: the memory virtual network (default), a TAP or TUN
 * device, or the chiTCP-style tunnel; with a pcap capture when `config.pcap` is set.
 */
export async function openNetwork(
  config: DriverConfig,
  options: OpenNetworkOptions = {},
): Promise<NetworkSession> {
  const clock = options.clock ?? realClock();
  const tcp: Partial<TcpConfig> = {
    ...options.tcp,
    ...(config.mss !== undefined ? { mss: config.mss } : {}),
  };
  const session = new NetworkSession(config);
  const wrap = (link: Link): Link => {
    const captured = config.pcap !== undefined ? withCapture(link, fileSink(config.pcap), clock) : link;
    const counted = withCounters(captured, session.counters);
    return options.wrapLink ? options.wrapLink(counted) : counted;
  };
  switch (config.driver) {
    case "memory": {
      const v = new VirtualNetwork({ mtu: config.mtu, clock });
      session.virtual = v;
      session.stack = createStack({
        link: wrap(v.guestLink),
        ipv4: v.guest,
        gateway: v.gatewayAddress,
        clock,
        tcp,
      });
      return session;
    }
    case "tun":
    case "tap": {
      const { openTap, openTun } = await import("@userstack/driver-tap");
      const name = config.device ?? (config.driver === "tap" ? "tap0" : "tun0");
      const link =
        config.driver === "tap"
          ? await openTap(name, { netns: config.netns, mtu: config.mtu })
          : await openTun(name, { netns: config.netns, mtu: config.mtu });
      session.device = { name: link.name, netns: config.netns, medium: link.medium, mtu: link.mtu };
      try {
        session.stack = createStack({
          link: wrap(link),
          ipv4: config.address ?? "10.0.0.2/24",
          gateway: config.gateway,
          mac: config.mac,
          clock,
          tcp,
        });
      } catch (e) {
        await link.close();
        throw e;
      }
      return session;
    }
    case "tunnel": {
      const { createTunnel } = await import("@userstack/driver-tunnel");
      const tunnel = await createTunnel({
        address: config.tunnelAddress ?? "127.0.0.1",
        port: config.tunnelPort ?? (options.role === "client" ? 0 : 23300),
        peerPort: config.peerPort ?? 23300,
        mode: config.chitcp ? "chitcp" : "userstack",
        capture: config.pcap !== undefined ? fileSink(config.pcap) : undefined,
        clock,
      });
      session.tunnel = tunnel;
      const counted = withNetworkCounters(tunnel, session.counters);
      const network = options.wrapNetwork ? options.wrapNetwork(counted) : counted;
      session.stack = createStack({ network, clock, tcp });
      return session;
    }
  }
}
