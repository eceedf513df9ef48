// Creating (or attaching to) a TAP or TUN device through /dev/net/tun, as the kernel's
// Documentation/networking/tuntap.rst describes: open the clone device, TUNSETIFF with the name and
// IFF_TAP or IFF_TUN, plus IFF_NO_PI so each read/write is exactly one frame with no 4-byte
// packet-information prefix.
import { DriverError, ipCommand, where } from "./driver-error.js";
import { checkInterfaceName, ifreq, ifreqName, interfaceInfo, setInterfaceMtu } from "./interface-control.js";
import { errno, errnoName, libc, O_CLOEXEC, O_NONBLOCK, O_RDWR } from "./libc.js";
import { inNetns } from "./netns.js";

// linux/if_tun.h: _IOW('T', 202, int) and _IOW('T', 208, unsigned int).
const TUNSETIFF = 0x400454ca;
const TUNSETOFFLOAD = 0x400454d0;
const IFF_TUN = 0x0001;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
const IFR_FLAGS = 16;

/** What {@link openTunDevice} made. */
export interface TunDevice {
  fd: number;
  /** The name the kernel gave (a `%d` in the requested name replaced by a number). */
  name: string;
  mtu: number;
  /** The kernel side's MAC on a TAP (the stack uses another); meaningless on a TUN. */
  kernelMac: Uint8Array;
}

/**
 * Opens /dev/net/tun non-blocking and attaches it to TAP or TUN device `name` (creating it when it
 * does not exist), inside `netns` when given. Offloads are always switched off: the state sticks to
 * a persistent device, and with it on the kernel hands over frames with partial checksums that a
 * user-space stack would take for corrupt. Sets the device's MTU when `mtu` is given.
 */
export function openTunDevice(
  kind: "tap" | "tun",
  requested: string,
  netns: string | undefined,
  mtu: number | undefined,
  vnetHeader = false,
): TunDevice {
  checkInterfaceName(requested, true);
  const KIND = kind.toUpperCase();
  const ip = ipCommand(netns);
  return inNetns(netns, () => {
    const c = libc();
    const fd = c.open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
    if (fd < 0) {
      const code = errnoName(errno());
      throw new DriverError(
        code,
        code === "ENOENT"
          ? "/dev/net/tun does not exist: load the tun module with `sudo modprobe tun` (in a container, pass the device with `--device /dev/net/tun`)."
          : code === "EACCES" || code === "EPERM"
            ? "/dev/net/tun cannot be opened: make it readable and writable (`sudo chmod 0666 /dev/net/tun`) or run as root."
            : `/dev/net/tun cannot be opened (${code}): check that the tun module is loaded (\`lsmod | grep tun\`).`,
        "open",
      );
    }
    try {
      const r = ifreq(requested);
      // IFF_VNET_HDR (the `gso` option): each frame read or written starts with a virtio_net_hdr.
      const flags = (kind === "tap" ? IFF_TAP : IFF_TUN) | IFF_NO_PI | (vnetHeader ? IFF_VNET_HDR : 0);
      r[IFR_FLAGS] = flags & 0xff;
      r[IFR_FLAGS + 1] = flags >>> 8;
      if (c.ioctlPtr(fd, TUNSETIFF, r) < 0) {
        const code = errnoName(errno());
        throw new DriverError(code, tunsetiffMessage(code, KIND, requested, netns, ip), "ioctl(TUNSETIFF)");
      }
      const name = ifreqName(r);
      if (c.ioctlInt(fd, TUNSETOFFLOAD, 0) < 0) {
        const code = errnoName(errno());
        throw new DriverError(
          code,
          `Cannot switch off offloads on ${KIND} device "${name}" (${code}); without that the kernel hands over frames with unfinished checksums.`,
          "ioctl(TUNSETOFFLOAD)",
        );
      }
      if (mtu !== undefined) setInterfaceMtu(name, mtu, netns);
      const info = interfaceInfo(name, where(netns));
      return { fd, name, mtu: info.mtu, kernelMac: info.mac };
    } catch (e) {
      c.close(fd);
      throw e;
    }
  });
}

function tunsetiffMessage(
  code: string,
  KIND: string,
  name: string,
  netns: string | undefined,
  ip: string,
): string {
  switch (code) {
    case "EPERM":
    case "EACCES":
      return `Creating ${KIND} device "${name}" needs CAP_NET_ADMIN: run as root (sudo), or create it once as a persistent device you own with \`sudo ${ip} tuntap add dev ${name} mode ${KIND.toLowerCase()} user $USER\` (or \`sudo userstack-tap setup\`) and open it by that name.`;
    case "EBUSY":
      return `${KIND} device "${name}"${where(netns)} is already open (a device has one reader): close the link or stop the process that holds it, or choose another name.`;
    case "EINVAL":
      return `An interface named "${name}"${where(netns)} exists and is not a ${KIND} device: choose another name, or remove it with \`${ip} link del ${name}\`.`;
    default:
      return `The kernel refused to attach ${KIND} device "${name}"${where(netns)} (TUNSETIFF: ${code}).`;
  }
}
