import { DeviceLink } from "./device-link.js";
import { checkBatch, checkMtu, type GsoOption, type OpenOptions } from "./open-options.js";
import { openTunDevice } from "./tun-device.js";

/** Options of {@link openTun}. */
export interface TunOptions extends OpenOptions, GsoOption {
  /** The MTU of the link; the device's MTU is set to it. Default: the device's (1500 when new). */
  mtu?: number;
}

/**
 * Opens TUN device `name` (creating it if it does not exist; `"tun%d"` lets the kernel number it)
 * as an IP {@link Link}: every frame is a bare IP packet, no Ethernet header and no ARP. The kernel
 * routes to and from it like a point-to-point interface (`ip addr add 10.0.0.1 peer 10.0.0.2 dev
 * tun0`). Same permissions, lifetime and errors as {@link openTap}.
 */
export async function openTun(name: string, options: TunOptions = {}): Promise<DeviceLink> {
  if (options.batch !== undefined) checkBatch(options.batch, 0);
  const dev = openTunDevice("tun", name, options.netns, checkMtu(options.mtu), options.gso === true);
  return new DeviceLink({
    fd: dev.fd,
    medium: "ip",
    mtu: dev.mtu,
    name: dev.name,
    netns: options.netns,
    mac: undefined,
    reader: "read",
    batch: checkBatch(options.batch, dev.mtu),
    onError: options.onError,
    gso: options.gso === true,
  });
}
