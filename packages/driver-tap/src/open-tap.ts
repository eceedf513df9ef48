import { DeviceLink, type DeviceLinkInit } from "./device-link.js";
import { checkBatch, checkMtu, type GsoOption, type OpenOptions } from "./open-options.js";
import { openTunDevice } from "./tun-device.js";

/** Options of {@link openTap}. */
export interface TapOptions extends OpenOptions, GsoOption {
  /**
   * The MTU (largest IP datagram) of the link; the device's MTU is set to it. Default: the device's
   * current MTU (1500 for a new device).
   */
  mtu?: number;
  /**
   * The stack's MAC address, reported as `link.mac`. A TAP has no address of its own on the stack's
   * side (the kernel side's MAC belongs to the kernel), so without it the stack chooses one.
   */
  mac?: Uint8Array;
}

/** An Ethernet link over a TAP device. */
export class TapLink extends DeviceLink {
  constructor(
    init: DeviceLinkInit,
    /** The kernel side's MAC (`ip link show <name>`): the address the kernel answers ARP with. */
    readonly kernelMac: Uint8Array,
  ) {
    super(init);
  }
}

/**
 * Opens TAP device `name` (creating it if it does not exist; `"tap%d"` lets the kernel number it)
 * as an Ethernet {@link Link}: the stack sends and receives whole Ethernet frames, and the kernel on
 * the other side of the device is an ordinary neighbour on that Ethernet. A device this call
 * creates disappears when the link is closed (or the process ends); a persistent one (`ip tuntap
 * add`, `userstack-tap setup`) stays.
 *
 * Needs CAP_NET_ADMIN unless the device already exists and belongs to the user. Rejects with a
 * {@link DriverError} whose message says how to fix it: `EPERM` (not root), `ENOENT` (no
 * /dev/net/tun, or no such namespace), `EBUSY` (open elsewhere), `EINVAL` (the name is taken by
 * another kind of interface).
 *
 * ```ts
 * const tap = await openTap("tap0", { netns: "userstack" });
 * tap.attach({ receive: (frame) => …, flush: () => … });
 * tap.send(frame);
 * await tap.close();
 * ```
 */
export async function openTap(name: string, options: TapOptions = {}): Promise<TapLink> {
  if (options.batch !== undefined) checkBatch(options.batch, 0);
  const dev = openTunDevice("tap", name, options.netns, checkMtu(options.mtu), options.gso === true);
  return new TapLink(
    {
      fd: dev.fd,
      medium: "ethernet",
      mtu: dev.mtu,
      name: dev.name,
      netns: options.netns,
      mac: options.mac,
      reader: "read",
      batch: checkBatch(options.batch, dev.mtu + 22),
      onError: options.onError,
      gso: options.gso === true,
    },
    dev.kernelMac,
  );
}
