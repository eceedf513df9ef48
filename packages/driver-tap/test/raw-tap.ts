// A TAP descriptor opened the way a careless driver would, with offloads left on: the control case
// that shows why openTap always switches them off.
import { ifreq } from "../src/interface-control.js";
import { errno, libc, O_NONBLOCK, O_RDWR } from "../src/libc.js";
import { inNetns } from "../src/netns.js";

const TUNSETIFF = 0x400454ca;
const TUNSETOFFLOAD = 0x400454d0;
/** linux/if_tun.h: the kernel may hand over unfinished checksums (TUN_F_CSUM) and TCP segments up to 64 KiB (TUN_F_TSO4). */
const TUN_F_CSUM = 0x01;
const TUN_F_TSO4 = 0x02;

/** Attaches to TAP `name` in `netns` with IFF_NO_PI and offloads on; returns the descriptor. */
export function openTapWithOffloads(name: string, netns: string): number {
  return inNetns(netns, () => {
    const c = libc();
    const fd = c.open("/dev/net/tun", O_RDWR | O_NONBLOCK, 0);
    if (fd < 0) throw new Error(`open /dev/net/tun: errno ${errno()}`);
    const r = ifreq(name);
    r[16] = 0x02; // IFF_TAP
    r[17] = 0x10; // IFF_NO_PI >> 8
    if (c.ioctlPtr(fd, TUNSETIFF, r) < 0) throw new Error(`TUNSETIFF: errno ${errno()}`);
    if (c.ioctlInt(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4) < 0)
      throw new Error(`TUNSETOFFLOAD: errno ${errno()}`);
    return fd;
  });
}

/** Reads every frame waiting on `fd` (non-blocking) into copies. */
export function readAll(fd: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = libc().read(fd, buf, buf.length);
    if (n <= 0) return frames;
    frames.push(buf.slice(0, n));
  }
}

export function closeFd(fd: number): void {
  libc().close(fd);
}
