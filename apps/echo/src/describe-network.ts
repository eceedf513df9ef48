import type { NetworkSession } from "@userstack/netkit";

/** "memory driver", "tap driver, device tap0 in namespace userstack", "tunnel driver, tunnel on 127.0.0.1:23300". */
export function describeDriver(session: NetworkSession): string {
  const c = session.config;
  if (session.tunnel !== undefined)
    return `tunnel driver, ${session.tunnel.mode} tunnel on ${session.tunnel.address}:${session.tunnel.port}`;
  if (session.device !== undefined)
    return `${c.driver} driver, device ${session.device.name}${session.device.netns ? ` in namespace ${session.device.netns}` : ""}`;
  return `${c.driver} driver`;
}
