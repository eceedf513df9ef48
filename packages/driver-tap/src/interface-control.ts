// Interface queries through struct ifreq ioctls (netdevice(7)): index, flags, MTU, hardware address.
// They act on the namespace of the socket they are made on, so callers run them inside inNetns().
import { DriverError } from "./driver-error.js";
import { errno, errnoName, libc, SOCK_CLOEXEC } from "./libc.js";

// linux/sockios.h
const SIOCGIFFLAGS = 0x8913;
const SIOCGIFMTU = 0x8921;
const SIOCSIFMTU = 0x8922;
const SIOCGIFHWADDR = 0x8927;
const SIOCGIFINDEX = 0x8933;
const AF_INET = 2;
const SOCK_DGRAM = 2;

/** struct ifreq: a 16-byte name, then a 24-byte union (int index, short flags, int mtu, sockaddr hwaddr). */
const IFREQ_SIZE = 40;
const IFR_UNION = 16;
/** IFNAMSIZ is 16 with the terminating NUL. */
export const MAX_INTERFACE_NAME = 15;

/** net/if.h interface flags. */
export const IFF_UP = 0x1;
export const IFF_RUNNING = 0x40;

/** Throws unless `name` fits struct ifreq's name field and is a name `ip link` would accept. */
export function checkInterfaceName(name: string, allowPattern = false): void {
  const ok = allowPattern ? /^[A-Za-z0-9_.%-]+$/ : /^[A-Za-z0-9_.-]+$/;
  if (name.length === 0 || name.length > MAX_INTERFACE_NAME || !ok.test(name)) {
    throw new DriverError(
      "EINVAL",
      `"${name}" is not a valid interface name: use 1 to ${MAX_INTERFACE_NAME} letters, digits, ".", "-" or "_"${allowPattern ? ' (a "%d" is replaced by a number)' : ""}.`,
    );
  }
}

/** A struct ifreq holding `name` (ASCII, checked by {@link checkInterfaceName}). */
export function ifreq(name: string): Uint8Array {
  const r = new Uint8Array(IFREQ_SIZE);
  for (let i = 0; i < name.length; i++) r[i] = name.charCodeAt(i);
  return r;
}

/** The name the kernel wrote back into an ifreq (it expands `tap%d`). */
export function ifreqName(r: Uint8Array): string {
  let s = "";
  for (let i = 0; i < 16 && r[i] !== 0; i++) s += String.fromCharCode(r[i]!);
  return s;
}

/** What the kernel says about an interface. */
export interface InterfaceInfo {
  index: number;
  flags: number;
  mtu: number;
  /** The hardware address (6 bytes on Ethernet). */
  mac: Uint8Array;
  /** ARPHRD_* of the hardware address: 1 for Ethernet, 65534 for a TUN device, 772 for loopback. */
  hardwareType: number;
}

/** linux/if_arp.h ARPHRD_ETHER. */
export const ARPHRD_ETHER = 1;

function int32(r: Uint8Array, at: number): number {
  return new DataView(r.buffer, r.byteOffset, r.byteLength).getInt32(at, true);
}

/**
 * Queries interface `name` in the calling thread's namespace. Throws a {@link DriverError}
 * `ENODEV` when there is no such interface; `hint` finishes that sentence with the fix.
 */
export function interfaceInfo(name: string, hint: string): InterfaceInfo {
  return withControlSocket((fd) => {
    const c = libc();
    const r = ifreq(name);
    const query = (request: number, what: string) => {
      if (c.ioctlPtr(fd, request, r) < 0) {
        const code = errnoName(errno());
        throw new DriverError(
          code,
          code === "ENODEV"
            ? `There is no interface "${name}"${hint}.`
            : `Cannot read ${what} of "${name}": ${code}.`,
          `ioctl(${what})`,
        );
      }
    };
    query(SIOCGIFINDEX, "SIOCGIFINDEX");
    const index = int32(r, IFR_UNION);
    query(SIOCGIFFLAGS, "SIOCGIFFLAGS");
    const flags = r[IFR_UNION]! | (r[IFR_UNION + 1]! << 8);
    query(SIOCGIFMTU, "SIOCGIFMTU");
    const mtu = int32(r, IFR_UNION);
    query(SIOCGIFHWADDR, "SIOCGIFHWADDR");
    // sockaddr: sa_family (2 bytes), then the address in sa_data.
    const hardwareType = r[IFR_UNION]! | (r[IFR_UNION + 1]! << 8);
    const mac = r.slice(IFR_UNION + 2, IFR_UNION + 8);
    return { index, flags, mtu, mac, hardwareType };
  });
}

/** Sets the MTU of interface `name` in the calling thread's namespace (needs CAP_NET_ADMIN). */
export function setInterfaceMtu(name: string, mtu: number, netns: string | undefined): void {
  withControlSocket((fd) => {
    const r = ifreq(name);
    new DataView(r.buffer).setInt32(IFR_UNION, mtu, true);
    if (libc().ioctlPtr(fd, SIOCSIFMTU, r) < 0) {
      const code = errnoName(errno());
      throw new DriverError(
        code,
        code === "EPERM"
          ? `Setting the MTU of "${name}" needs CAP_NET_ADMIN: run as root, or set it beforehand with \`${netns ? `ip -n ${netns}` : "ip"} link set ${name} mtu ${mtu}\` and omit the mtu option.`
          : `The kernel refused MTU ${mtu} for "${name}" (${code}): choose an MTU between 68 and 65535.`,
        "ioctl(SIOCSIFMTU)",
      );
    }
  });
}

function withControlSocket<T>(use: (fd: number) => T): T {
  const c = libc();
  const fd = c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const code = errnoName(errno());
    throw new DriverError(code, `Cannot make a socket to query interfaces (${code}).`, "socket");
  }
  try {
    return use(fd);
  } finally {
    c.close(fd);
  }
}
