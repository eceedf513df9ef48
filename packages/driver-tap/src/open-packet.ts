// A raw AF_PACKET socket bound to one existing interface (packet(7)): the stack sees every frame the
// interface receives and sends frames out of it, beside the kernel's own stack on that interface.
// Typical use: one end of a veth pair whose other end (the kernel peer) has an address.
import { DeviceLink, type DeviceLinkInit } from "./device-link.js";
import { DriverError, ipCommand, where } from "./driver-error.js";
import { ARPHRD_ETHER, checkInterfaceName, IFF_UP, interfaceInfo } from "./interface-control.js";
import { EAGAIN, errno, errnoName, libc, SOCK_CLOEXEC, SOCK_NONBLOCK } from "./libc.js";
import { inNetns } from "./netns.js";
import { checkBatch, type OpenOptions } from "./open-options.js";
import { SendBatch } from "./send-batch.js";

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const SOL_PACKET = 263;
/** Linux 4.20: do not hand this socket the frames sent out of the interface (ours included). */
const PACKET_IGNORE_OUTGOING = 23;
/** linux/if_ether.h ETH_P_ALL: every protocol. */
const ETH_P_ALL = 0x0003;
/** struct sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8]. */
const SOCKADDR_LL_SIZE = 20;
/** Socket buffers asked for (the kernel may cap them): room for bursts while JavaScript is busy. */
const SOCKET_BUFFER = 4 * 1024 * 1024;
const ENOBUFS = 105;

/** Options of {@link openPacket}. */
export interface PacketOptions extends OpenOptions {}

/** Frames per sendmmsg(2) call in {@link PacketLink.sendMany}. */
const SEND_BATCH = 64;

/** An Ethernet link over an AF_PACKET socket bound to one interface. */
export class PacketLink extends DeviceLink {
  private sendBatch: SendBatch | undefined;

  constructor(
    init: DeviceLinkInit,
    /** The interface's index in its namespace. */
    readonly ifindex: number,
  ) {
    super(init);
  }

  /**
   * Sends several frames with one sendmmsg(2) per 64 (each copied once into native memory), with
   * the same checks, counters and ownership as `send`: the frames are only read during the call.
   */
  sendMany(frames: readonly Uint8Array[]): void {
    if (this.closed) {
      this.stats.txDropped += frames.length;
      return;
    }
    const batch = (this.sendBatch ??= new SendBatch(SEND_BATCH, this.maxFrame));
    for (const frame of frames) {
      if (!this.fits(frame)) {
        this.stats.txOversize++;
        continue;
      }
      batch.add(frame);
      if (batch.length === batch.capacity) this.sendStaged(batch);
    }
    if (batch.length > 0) this.sendStaged(batch);
  }

  private sendStaged(batch: SendBatch): void {
    const c = libc();
    const n = batch.length;
    let i = 0;
    while (i < n) {
      const sent = c.sendmmsg(this.fd, batch.messageAddress(i), n - i, 0);
      if (sent < 0) {
        const e = errno();
        this.sendFailed(e);
        // A full socket buffer refuses the rest as well; another error is this frame's alone.
        const dropped = e === EAGAIN || e === ENOBUFS ? n - i : 1;
        this.stats.txDropped += dropped;
        i += dropped;
        continue;
      }
      for (let k = i; k < i + sent; k++) this.stats.txBytes += batch.lengthOf(k);
      this.stats.txFrames += sent;
      i += sent;
    }
    batch.clear();
  }

  private closingPacket: Promise<void> | undefined;

  override close(): Promise<void> {
    this.closingPacket ??= super.close().then(() => {
      this.sendBatch?.free();
      this.sendBatch = undefined;
    });
    return this.closingPacket;
  }
}

/**
 * Opens an AF_PACKET raw socket on existing Ethernet interface `ifname` (typically one end of a veth
 * pair) as an Ethernet {@link Link}. `link.mac` is the interface's MAC, which the stack must use:
 * the interface only passes unicast frames addressed to it. The MTU is the interface's.
 *
 * The socket is bound to the interface with PACKET_IGNORE_OUTGOING, so the stack never reads back
 * what it (or the local kernel) sends. The kernel peer at the other end of a veth pair computes
 * checksums lazily and merges segments unless told not to; run this once for the peer interface,
 * in its namespace, or TCP/UDP frames arrive with unfinished checksums or larger than the MTU:
 *
 * ```sh
 * ethtool -K <peer> tx off tso off gso off gro off
 * ```
 *
 * Needs CAP_NET_RAW. Rejects with a {@link DriverError}: `EPERM` (not root), `ENODEV` (no such
 * interface), `ENETDOWN` (interface down), `EINVAL` (not an Ethernet interface).
 */
export async function openPacket(ifname: string, options: PacketOptions = {}): Promise<PacketLink> {
  checkInterfaceName(ifname);
  if (options.batch !== undefined) checkBatch(options.batch, 0);
  const { netns } = options;
  const ip = ipCommand(netns);
  const { fd, info } = inNetns(netns, () => {
    const info = interfaceInfo(ifname, `${where(netns)}: check the name with \`${ip} link\``);
    if (info.hardwareType !== ARPHRD_ETHER) {
      throw new DriverError(
        "EINVAL",
        `Interface "${ifname}"${where(netns)} is not an Ethernet interface (hardware type ${info.hardwareType}): use a veth or physical interface, or openTun for a TUN device.`,
      );
    }
    if ((info.flags & IFF_UP) === 0) {
      throw new DriverError(
        "ENETDOWN",
        `Interface "${ifname}"${where(netns)} is down: bring it up with \`${ip} link set ${ifname} up\`.`,
      );
    }
    const c = libc();
    // Protocol 0 at socket(): nothing is queued until bind() names the interface, so the socket
    // never holds frames of other interfaces.
    const fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      const code = errnoName(errno());
      throw new DriverError(
        code,
        code === "EPERM" || code === "EACCES"
          ? `Opening a raw socket on "${ifname}" needs CAP_NET_RAW: run as root (sudo), or grant it to node with \`sudo setcap cap_net_raw+ep $(command -v node)\`.`
          : `Cannot make an AF_PACKET socket (${code}): the kernel needs CONFIG_PACKET.`,
        "socket",
      );
    }
    try {
      const one = new Uint8Array(new Int32Array([1]).buffer);
      if (c.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, one, 4) < 0) {
        const code = errnoName(errno());
        throw new DriverError(
          code,
          `This kernel lacks PACKET_IGNORE_OUTGOING (${code}), so the link would read back its own frames: use Linux 4.20 or later.`,
          "setsockopt(PACKET_IGNORE_OUTGOING)",
        );
      }
      const size = new Uint8Array(new Int32Array([SOCKET_BUFFER]).buffer);
      // The FORCE variants pass net.core.[rw]mem_max with CAP_NET_ADMIN; without it the plain ones
      // get what the limit allows. Either way, smaller buffers only mean earlier loss.
      if (c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, size, 4) < 0)
        c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, size, 4);
      if (c.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, size, 4) < 0)
        c.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, size, 4);
      const sll = new Uint8Array(SOCKADDR_LL_SIZE);
      const v = new DataView(sll.buffer);
      v.setUint16(0, AF_PACKET, true);
      v.setUint16(2, ETH_P_ALL, false); // network byte order
      v.setInt32(4, info.index, true);
      if (c.bind(fd, sll, SOCKADDR_LL_SIZE) < 0) {
        const code = errnoName(errno());
        throw new DriverError(
          code,
          code === "ENODEV"
            ? `Interface "${ifname}"${where(netns)} disappeared while opening it: check \`${ip} link\`.`
            : `Cannot bind the raw socket to "${ifname}" (${code}).`,
          "bind",
        );
      }
      return { fd, info };
    } catch (e) {
      c.close(fd);
      throw e;
    }
  });
  return new PacketLink(
    {
      fd,
      medium: "ethernet",
      mtu: info.mtu,
      name: ifname,
      netns,
      mac: info.mac,
      reader: "recv",
      batch: checkBatch(options.batch, info.mtu + 22),
      onError: options.onError,
    },
    info.index,
  );
}
