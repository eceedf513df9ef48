// The Link over a file descriptor that carries one frame per read(2)/write(2): a TAP or TUN device,
// or an AF_PACKET socket bound to one interface. The openers (open-tap.ts, open-tun.ts,
// open-packet.ts) make the descriptor; this file moves the frames.
import type { Link, Medium, Receiver } from "@userstack/link";
import { DriverError } from "./driver-error.js";
import { EAGAIN, EINTR, EIO, errno, errnoName, libc } from "./libc.js";
import { type DrainResult, reactor, type Watched } from "./reactor.js";
import { VNET_HEADER, writePlainVnetHeader, writeSegmentedVnetHeader } from "./vnet-header.js";

/** Counters a link keeps; read them to see drops that the Link contract does not report. */
export interface LinkStats {
  /** Frames delivered to the receiver. */
  rxFrames: number;
  rxBytes: number;
  /** Batches delivered (each ends with one `flush()`). */
  rxBatches: number;
  /** Frames longer than the link's largest frame, dropped (the peer's MTU or offloads disagree with ours). */
  rxOversize: number;
  /** Read errors other than "nothing to read". */
  rxErrors: number;
  /** Frames the kernel accepted. */
  txFrames: number;
  txBytes: number;
  /** Frames refused by `send` because they exceed the MTU (or are shorter than a header). */
  txOversize: number;
  /** Frames the kernel refused (interface down, socket buffer full) or sent after `close()`. */
  txDropped: number;
  /** With `gso`: merged frames the stack handed to `sendSegmented` (counted in `txFrames` too). */
  txSegmented: number;
}

/** What a concrete opener tells {@link DeviceLink} about its descriptor. */
export interface DeviceLinkInit {
  fd: number;
  medium: Medium;
  mtu: number;
  /** The interface's name as the kernel knows it (after `tap%d` expansion). */
  name: string;
  /** The network namespace the interface lives in, as the caller named it (for messages). */
  netns: string | undefined;
  /** A hardware address the stack must use, when the link has one. */
  mac: Uint8Array | undefined;
  /** How the link reads a frame: read(2) on a TAP/TUN, recv(MSG_TRUNC) on a packet socket. */
  reader: "read" | "recv";
  /** At most this many frames per batch before other work gets the event loop. */
  batch: number;
  /** The descriptor was opened with IFF_VNET_HDR: frames carry a virtio-net header (TAP and TUN). */
  gso?: boolean;
  onError: ((error: DriverError) => void) | undefined;
}

/** IEEE 802.1Q and 802.1ad tag types: each tag adds 4 bytes to the Ethernet header. */
const VLAN_TPIDS = new Set([0x8100, 0x88a8]);
const ETHERNET_HEADER = 14;
/** Room for two VLAN tags (802.1ad + 802.1Q) beyond the 14-byte header. */
const TAG_ROOM = 8;
/** recv(2) flag: return the real length of a frame longer than the buffer. */
const MSG_TRUNC = 0x20;
// errnos after which a descriptor will never read again (device deleted, descriptor gone).
const EBADF = 9;
const ENXIO = 6;
const EFAULT = 14;
const EINVAL = 22;
const EBADFD = 77;
const FATAL = new Set([EBADF, EBADFD, ENXIO, EFAULT, EINVAL]);
/** The largest IPv4 datagram (RFC 791 total length): the most a merged TCP frame may carry. */
const MAX_DATAGRAM = 65535;

/**
 * A {@link Link} over a TAP, TUN or AF_PACKET descriptor. Made by {@link openTap}, {@link openTun}
 * and {@link openPacket}.
 *
 * Receiving: frames are read into a slab allocated once (one slot per frame of a batch) and lent to
 * `receive()` as views; the slab is reused for the next batch, so a receiver that keeps bytes must
 * copy them. Sending: one write(2) per frame (writev would merge frames into one), after checking
 * the MTU, which the kernel does not enforce on a TAP; with `gso`, the stack's merged TCP segments
 * go out as one write each through `sendSegmented` (vnet-header.ts).
 */
export class DeviceLink implements Link, Watched {
  readonly medium: Medium;
  readonly mtu: number;
  readonly mac?: Uint8Array;
  /** The interface's name in its namespace (`tap0`). */
  readonly name: string;
  /** The namespace the interface lives in, as given to the opener (undefined: the caller's own). */
  readonly netns: string | undefined;
  /** The file descriptor (for diagnostics; the link owns it). */
  readonly fd: number;
  /** At most this many frames are delivered between two turns of the event loop. */
  readonly batch: number;
  /** Live counters. */
  readonly stats: LinkStats = {
    rxFrames: 0,
    rxBytes: 0,
    rxBatches: 0,
    rxOversize: 0,
    rxErrors: 0,
    txFrames: 0,
    txBytes: 0,
    txOversize: 0,
    txDropped: 0,
    txSegmented: 0,
  };
  /**
   * With `gso`: the largest IPv4 datagram {@link sendSegmented} takes (65535), which tells a stack
   * it may hand over merged TCP segments. Absent otherwise.
   */
  readonly segmentationOffload?: number;

  /** The largest frame `send` accepts and `receive` delivers. */
  protected readonly maxFrame: number;
  private readonly minFrame: number;
  private readonly slots: Uint8Array[];
  private readonly recv: boolean;
  private readonly onError: ((error: DriverError) => void) | undefined;
  private receiver: Receiver | undefined;
  private watching = false;
  protected closed = false;
  private closing: Promise<void> | undefined;
  private warned = new Set<string>();
  /** With `gso`: a frame to write is copied here behind its virtio-net header. */
  private readonly staging: Uint8Array | undefined;
  /** With `gso`: the virtio-net header's length before each frame read; 0 otherwise. */
  private readonly readOffset: number;
  /** Where the IPv4 header starts in a frame: after Ethernet's 14 bytes, or at once on a TUN. */
  private readonly l3: number;

  constructor(init: DeviceLinkInit) {
    this.fd = init.fd;
    this.medium = init.medium;
    this.mtu = init.mtu;
    this.name = init.name;
    this.netns = init.netns;
    if (init.mac) this.mac = init.mac;
    this.recv = init.reader === "recv";
    this.onError = init.onError;
    this.batch = init.batch;
    const ethernet = init.medium === "ethernet";
    this.minFrame = ethernet ? ETHERNET_HEADER : 1;
    this.maxFrame = ethernet ? init.mtu + ETHERNET_HEADER + TAG_ROOM : init.mtu;
    // One byte more than the largest frame, so a read that fills a slot shows truncation. Slots
    // start on 64-byte boundaries so word-wise checksums over them stay aligned.
    this.readOffset = init.gso ? VNET_HEADER : 0;
    const slotSize = (this.readOffset + this.maxFrame + 1 + 63) & ~63;
    const slab = new Uint8Array(slotSize * this.batch);
    this.slots = Array.from({ length: this.batch }, (_, i) =>
      slab.subarray(i * slotSize, (i + 1) * slotSize),
    );
    this.l3 = ethernet ? ETHERNET_HEADER : 0;
    if (init.gso) {
      this.segmentationOffload = MAX_DATAGRAM;
      this.staging = new Uint8Array(VNET_HEADER + Math.max(this.maxFrame, this.l3 + MAX_DATAGRAM));
    }
  }

  /**
   * Sends one frame (with its Ethernet header on a TAP or packet socket; a bare IP packet on a TUN).
   * A frame whose payload exceeds `mtu` is dropped and counted in `stats.txOversize`; one the kernel
   * refuses is counted in `stats.txDropped`. Never throws; the bytes are only read during the call.
   */
  send(frame: Uint8Array): void {
    if (this.closed) {
      this.stats.txDropped++;
      return;
    }
    if (!this.fits(frame)) {
      this.stats.txOversize++;
      return;
    }
    const staging = this.staging;
    if (staging) {
      writePlainVnetHeader(staging);
      staging.set(frame, VNET_HEADER);
      this.write(staging, VNET_HEADER + frame.length, frame.length);
      return;
    }
    const n = libc().write(this.fd, frame, frame.length);
    if (n < 0) {
      this.stats.txDropped++;
      this.sendFailed(errno());
      return;
    }
    this.stats.txFrames++;
    this.stats.txBytes += n;
  }

  /**
   * TCP segmentation offload (`Link.sendSegmented`), with `gso`: `frame` is an IPv4 datagram
   * carrying consecutive full-sized TCP segments of one connection merged under the first one's
   * header, its TCP checksum field holding the pseudo-header sum of the whole. It goes to the kernel
   * in one write, with a virtio-net header saying GSO TCPV4 at `mss` bytes per segment and where the
   * checksum is: the kernel delivers it whole to a local socket, or cuts it into segments (their
   * checksums completed) when it forwards it. Without `gso`, or for a frame that is not IPv4/TCP or
   * is longer than a datagram, the frame is dropped and counted in `stats.txOversize`. Never throws.
   */
  sendSegmented(frame: Uint8Array, mss: number): void {
    if (this.closed) {
      this.stats.txDropped++;
      return;
    }
    const staging = this.staging;
    if (
      !staging ||
      frame.length > this.l3 + MAX_DATAGRAM ||
      !(mss > 0 && mss <= 0xffff) ||
      !writeSegmentedVnetHeader(staging, frame, this.l3, mss)
    ) {
      this.stats.txOversize++;
      return;
    }
    staging.set(frame, VNET_HEADER);
    if (this.write(staging, VNET_HEADER + frame.length, frame.length)) this.stats.txSegmented++;
  }

  /** One write(2) of `length` bytes of `buf` (a virtio-net header, then the frame); counts it. */
  private write(buf: Uint8Array, length: number, frameLength: number): boolean {
    const n = libc().write(this.fd, buf, length);
    if (n < 0) {
      this.stats.txDropped++;
      this.sendFailed(errno());
      return false;
    }
    this.stats.txFrames++;
    this.stats.txBytes += frameLength;
    return true;
  }

  /** True when the payload of `frame` fits the MTU (the header and its VLAN tags do not count). */
  protected fits(frame: Uint8Array): boolean {
    const len = frame.length;
    if (len < this.minFrame) return false;
    if (this.medium === "ip") return len <= this.mtu;
    let header = ETHERNET_HEADER;
    for (let tags = 0; tags < 2 && len >= header + 2; tags++) {
      const type = (frame[header - 2]! << 8) | frame[header - 1]!;
      if (!VLAN_TPIDS.has(type)) break;
      header += 4;
    }
    return len - header <= this.mtu;
  }

  /** Registers the receiver (replacing any earlier one) and starts reading. */
  attach(receiver: Receiver): void {
    if (this.closed) return;
    this.receiver = receiver;
    if (!this.watching) {
      this.watching = true;
      reactor.add(this);
    }
  }

  /** @internal Called by the reactor when the descriptor is readable. */
  drain(): DrainResult {
    const r = this.receiver;
    if (!r || this.closed) return "drained";
    const c = libc();
    let delivered = 0;
    let reads = 0;
    let result: DrainResult = "more";
    try {
      while (reads < this.batch) {
        const slot = this.slots[delivered]!;
        const n = this.recv
          ? c.recv(this.fd, slot, slot.length, MSG_TRUNC)
          : c.read(this.fd, slot, slot.length);
        reads++;
        if (n < 0) {
          const e = errno();
          if (e === EAGAIN) {
            result = "drained";
            break;
          }
          if (e === EINTR) continue;
          this.stats.rxErrors++;
          result = this.readFailed(e);
          break;
        }
        const at = this.readOffset;
        if (n - at > this.maxFrame) {
          this.stats.rxOversize++;
          continue;
        }
        if (n <= at) {
          this.stats.rxErrors++;
          continue;
        }
        this.stats.rxFrames++;
        this.stats.rxBytes += n - at;
        delivered++;
        r.receive(slot.subarray(at, n));
        if (this.closed || this.receiver !== r) {
          result = "drained";
          break;
        }
      }
    } finally {
      // A receiver that closed the link during the batch gets no flush: after close(), nothing.
      if (delivered > 0 && !this.closed) {
        this.stats.rxBatches++;
        r.flush();
      }
    }
    return result;
  }

  private readFailed(e: number): DrainResult {
    const code = errnoName(e);
    if (FATAL.has(e)) {
      this.watching = false;
      this.report(
        code,
        `"${this.name}" can no longer be read (${code}): the interface was probably deleted; open it again.`,
      );
      return "dead";
    }
    this.report(code, `Reading from "${this.name}" failed (${code}); the link keeps reading.`);
    return "drained";
  }

  protected sendFailed(e: number): void {
    if (e === EIO) {
      const ip = this.netns && !this.netns.startsWith("/") ? `ip -n ${this.netns}` : "ip";
      this.report(
        "ENETDOWN",
        `The kernel side of "${this.name}" is down, so frames sent to it are dropped: bring it up with \`${ip} link set ${this.name} up\`.`,
      );
    } else if (e !== EAGAIN && e !== 105 /* ENOBUFS: a full socket buffer is loss, not an error */) {
      const code = errnoName(e);
      this.report(code, `Writing to "${this.name}" failed (${code}); frames are being dropped.`);
    }
  }

  /** Tells the application once per kind of failure: through onError, else as a process warning. */
  private report(code: string, message: string): void {
    if (this.warned.has(code)) return;
    this.warned.add(code);
    const error = new DriverError(code, message, this.recv ? "recv" : "read/write");
    if (this.onError) this.onError(error);
    else process.emitWarning(message, { code: `USERSTACK_${code}` });
  }

  /**
   * Stops delivery at once and releases the device (a non-persistent TAP/TUN disappears with it).
   * Resolves once the poll thread has let go of the descriptor (one eventfd wake-up; never later
   * than the poll's one-second safety timeout) and the descriptor is closed, which the kernel does
   * on a worker thread since unregistering a device takes milliseconds. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.receiver = undefined;
    this.closing = (async () => {
      if (this.watching) {
        this.watching = false;
        await reactor.remove(this);
      }
      // Off the main thread: the kernel unregisters a non-persistent device inside close(2), which
      // takes ~14 ms here (RCU grace periods) and would stall every other connection meanwhile.
      await new Promise<void>((resolve) => libc().closeAsync(this.fd, () => resolve()));
    })();
    return this.closing;
  }
}
