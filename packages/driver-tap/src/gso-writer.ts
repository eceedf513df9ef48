// Generic segmentation offload towards the kernel, for a TAP or TUN opened with IFF_VNET_HDR.
//
// Every frame written to the device starts with a struct virtio_net_hdr (linux/virtio_net.h). When
// the stack sends a run of TCP segments of one connection in one turn of the event loop — a burst
// of data, as a cwnd's worth after an ACK — the writer merges them into one frame of up to 64 KiB
// with gso_type TCPV4 and gso_size = the segments' payload size: the kernel then takes the burst
// through its receive path once (as GRO would have merged it), instead of once per segment, which
// is most of the cost of a bulk transfer through a TAP. Anything else is written as it came, with
// an empty header, and order is kept: only the newest run is ever held, and it is written before
// any other frame and at the end of the turn (a microtask).
import { internetChecksum, pseudoHeaderSum } from "@userstack/ipv4";
import { errno, libc } from "./libc.js";

/** sizeof(struct virtio_net_hdr): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset. */
export const VNET_HEADER = 10;
const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
/** The largest IPv4 datagram (RFC 791 total length). */
const MAX_DATAGRAM = 65535;
/** TCP flags a merged segment may carry: ACK, and PSH on the last one (RFC 9293 §3.1). */
const ACK = 0x10;
const PSH = 0x08;

/** What the writer reports after each write(2). */
export interface GsoWriteReport {
  /** Frames (segments as the stack sent them) the write carried. */
  frames: number;
  /** Their bytes as the stack sent them (each with its own headers). */
  bytes: number;
  /** The write's result: bytes written, or -1 with `errno`. */
  result: number;
  errno: number;
}

/**
 * Merges runs of consecutive TCP segments into GSO frames and writes every frame with its
 * virtio_net_hdr. `l3` is where the IPv4 header starts in a frame (14 on a TAP, 0 on a TUN).
 */
export class GsoWriter {
  /** The held run: header, then the first segment, then the payloads of the following ones. */
  private readonly run: Uint8Array;
  private runLength = 0;
  private runFrames = 0;
  private runBytes = 0;
  /** The payload size of the run's first segment: gso_size. */
  private segmentPayload = 0;
  /** The header bytes (link + IPv4 + TCP) of the run's segments. */
  private headerLength = 0;
  private nextSeq = 0;
  /** The last segment of the run had PSH, or was shorter than the first: the run is complete. */
  private ended = false;
  private lastPush = false;
  private scheduled = false;
  private readonly single: Uint8Array;
  private readonly endOfTurn = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    private readonly fd: number,
    private readonly l3: number,
    maxFrame: number,
    private readonly report: (r: GsoWriteReport) => void,
  ) {
    this.run = new Uint8Array(VNET_HEADER + l3 + MAX_DATAGRAM);
    this.single = new Uint8Array(VNET_HEADER + maxFrame);
  }

  /** Writes `frame` (or holds it to merge with the next) ; the bytes are copied before returning. */
  push(frame: Uint8Array): void {
    if (this.runFrames > 0 && this.extends(frame)) {
      const payload = frame.subarray(this.headerLength);
      this.run.set(payload, this.runLength);
      this.runLength += payload.length;
      this.runFrames++;
      this.runBytes += frame.length;
      this.nextSeq = (this.nextSeq + payload.length) >>> 0;
      this.lastPush = (frame[this.l3 + 33]! & PSH) !== 0;
      this.ended = this.lastPush || payload.length < this.segmentPayload;
      return;
    }
    this.flush();
    if (this.startsRun(frame)) {
      const o = this.l3;
      this.headerLength = o + 20 + (frame[o + 32]! >> 4) * 4;
      this.segmentPayload = frame.length - this.headerLength;
      this.run.set(frame, VNET_HEADER);
      this.runLength = VNET_HEADER + frame.length;
      this.runFrames = 1;
      this.runBytes = frame.length;
      this.nextSeq = (seq(frame, o) + this.segmentPayload) >>> 0;
      this.lastPush = (frame[o + 33]! & PSH) !== 0;
      this.ended = this.lastPush;
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(this.endOfTurn);
      }
      return;
    }
    this.single.fill(0, 0, VNET_HEADER);
    this.single.set(frame, VNET_HEADER);
    this.write(this.single, VNET_HEADER + frame.length, 1, frame.length);
  }

  /** Writes the held run, if any. */
  flush(): void {
    const frames = this.runFrames;
    if (frames === 0) return;
    this.runFrames = 0;
    const b = this.run;
    b.fill(0, 0, VNET_HEADER);
    if (frames > 1) this.finishMerged();
    this.write(b, this.runLength, frames, this.runBytes);
  }

  /** Rewrites the first segment's headers for the whole run and fills in the virtio_net_hdr. */
  private finishMerged(): void {
    const b = this.run;
    const ip = VNET_HEADER + this.l3;
    const tcp = ip + 20;
    const ipLength = this.runLength - ip;
    b[ip + 2] = ipLength >>> 8;
    b[ip + 3] = ipLength & 0xff;
    b[ip + 10] = 0;
    b[ip + 11] = 0;
    const ipSum = internetChecksum(b, ip, tcp);
    b[ip + 10] = ipSum >>> 8;
    b[ip + 11] = ipSum & 0xff;
    // The merged segment says PSH when its last part did (RFC 9293 §3.9.1: push the data so far).
    if (this.lastPush) b[tcp + 13]! |= PSH;
    b[tcp + 16] = 0;
    b[tcp + 17] = 0;
    const pseudo = pseudoHeaderSum(u32(b, ip + 12), u32(b, ip + 16), 6, ipLength - 20);
    const tcpSum = internetChecksum(b, tcp, this.runLength, pseudo);
    b[tcp + 16] = tcpSum >>> 8;
    b[tcp + 17] = tcpSum & 0xff;
    // struct virtio_net_hdr, little-endian (x86-64 and arm64): flags 0 — the checksums are complete.
    const hdrLength = this.headerLength;
    b[1] = VIRTIO_NET_HDR_GSO_TCPV4;
    b[2] = hdrLength & 0xff;
    b[3] = hdrLength >>> 8;
    b[4] = this.segmentPayload & 0xff;
    b[5] = this.segmentPayload >>> 8;
  }

  private write(buf: Uint8Array, length: number, frames: number, bytes: number): void {
    const result = libc().write(this.fd, buf, length);
    this.report({ frames, bytes, result, errno: result < 0 ? errno() : 0 });
  }

  /** True when `f` is an IPv4 TCP segment that can begin a run: data, ACK (and PSH) only. */
  private startsRun(f: Uint8Array): boolean {
    const o = this.l3;
    if (o === 14 && (f[12] !== 0x08 || f[13] !== 0x00)) return false; // not IPv4 (or VLAN-tagged)
    if (f.length < o + 40 || f[o] !== 0x45 || f[o + 9] !== 6) return false; // options, or not TCP
    if ((f[o + 6]! & 0x3f) !== 0 || f[o + 7] !== 0) return false; // a fragment
    if (((f[o + 2]! << 8) | f[o + 3]!) !== f.length - o) return false; // padded
    const flags = f[o + 33]! & 0x3f;
    if (flags !== ACK && flags !== (ACK | PSH)) return false;
    return f.length > o + 20 + (f[o + 32]! >> 4) * 4; // carries data
  }

  /**
   * True when `f` continues the held run as the kernel's GRO would merge it: same addresses, ports,
   * ACK, window and options, the next sequence number, no larger than the first, after a segment
   * without PSH, and the whole still one IPv4 datagram.
   */
  private extends(f: Uint8Array): boolean {
    if (this.ended || !this.startsRun(f)) return false;
    const o = this.l3;
    const h = this.headerLength;
    const payload = f.length - h;
    if (payload > this.segmentPayload || o + 20 + (f[o + 32]! >> 4) * 4 !== h) return false;
    if (this.runLength + payload - VNET_HEADER - o > MAX_DATAGRAM) return false;
    if (seq(f, o) !== this.nextSeq) return false;
    const r = this.run;
    const base = VNET_HEADER;
    if (f[o + 1] !== r[base + o + 1] || f[o + 8] !== r[base + o + 8]) return false; // TOS, TTL
    for (let i = o + 12; i < o + 24; i++) if (f[i] !== r[base + i]) return false; // addresses, ports
    for (let i = o + 28; i < h; i++) {
      if (i === o + 33 || i === o + 36 || i === o + 37) continue; // flags (PSH), checksum
      if (f[i] !== r[base + i]) return false; // ACK number, data offset, window, urgent, options
    }
    return true;
  }
}

function seq(f: Uint8Array, o: number): number {
  return u32(f, o + 24);
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}
