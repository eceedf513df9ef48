import { createTunnel, type TunnelMode, type TunnelRoute } from "@userstack/driver-tunnel";
import { MemoryLoopback } from "./memory-loopback.js";
import type { StackServiceOptions } from "./stack-service.js";

/**
 * What the daemon's (or a worker's) stack runs on, as plain data (it crosses to a worker thread and
 * comes from the command line):
 *
 * - `memory`: a loopback network layer in memory ({@link MemoryLoopback}, like `lo`): the stack
 *   at `address` (default 10.0.0.1) reaches only itself, so its clients reach each other through
 *   it. For tests and the worker model.
 * - `tunnel`: the chiTCP-style tunnel of `@userstack/driver-tunnel`; the stack's address is the
 *   tunnel's real address, peers are other tunnels (`peerPort`, `routes`).
 * - `tun`, `tap`: a Linux TUN or TAP device from `@userstack/driver-tap` (root, or a device owned
 *   by you), optionally inside network namespace `netns`.
 */
export type DriverSpec =
  | { kind: "memory"; address?: string; mtu?: number }
  | {
      kind: "tunnel";
      address?: string;
      port?: number;
      peerPort?: number;
      mode?: TunnelMode;
      routes?: TunnelRoute[];
      connectTimeoutMs?: number;
    }
  | { kind: "tun"; name: string; ipv4: string; gateway?: string; netns?: string; mtu?: number }
  | { kind: "tap"; name: string; ipv4: string; gateway?: string; mac?: string; netns?: string; mtu?: number };

/** Opens the driver a spec names and returns what a StackService is built from. */
export async function openDriver(
  spec: DriverSpec,
  log: (line: string) => void = () => {},
): Promise<StackServiceOptions> {
  switch (spec.kind) {
    case "memory": {
      const network = new MemoryLoopback({ address: spec.address, mtu: spec.mtu });
      return {
        network,
        description: `memory loopback ${spec.address ?? "10.0.0.1"} (mtu ${spec.mtu ?? 65535})`,
        driverStats: () => ({ ...network.stats }),
      };
    }
    case "tunnel": {
      const tunnel = await createTunnel({
        address: spec.address,
        port: spec.port,
        peerPort: spec.peerPort,
        mode: spec.mode,
        routes: spec.routes,
        connectTimeoutMs: spec.connectTimeoutMs,
        log: (e) => {
          if (e.level !== "debug") log(e.message);
        },
      });
      return {
        network: tunnel,
        description: `tunnel ${tunnel.address}:${tunnel.port} (${tunnel.mode} mode)`,
        driverStats: () => ({ ...tunnel.stats, port: tunnel.port, peers: tunnel.peers() }),
      };
    }
    case "tun":
    case "tap": {
      // Loaded only when asked for: it brings koffi and Linux system calls.
      const tap = await import("@userstack/driver-tap");
      const open = { netns: spec.netns, mtu: spec.mtu };
      const link =
        spec.kind === "tun" ? await tap.openTun(spec.name, open) : await tap.openTap(spec.name, open);
      return {
        link,
        ipv4: spec.ipv4,
        gateway: spec.gateway,
        mac: spec.kind === "tap" ? spec.mac : undefined,
        description: `${spec.kind} ${spec.name}${spec.netns ? ` in netns ${spec.netns}` : ""} ${spec.ipv4}`,
        driverStats: () => ("stats" in link ? link.stats : undefined),
      };
    }
  }
}
