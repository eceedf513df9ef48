// The virtio-net header (linux/virtio_net.h, struct virtio_net_hdr) that starts every frame read
// from or written to a TAP or TUN opened with IFF_VNET_HDR — the `gso` option. It lets the link
// take TCP segmentation offload from the stack (Link.sendSegmented): a merged frame of up to 64 KiB
// goes to the kernel in one write(2), marked GSO TCPV4 with the segment size, and the kernel takes
// it through its receive path once (as GRO would have merged it) or cuts it into segments if it
// forwards it — what it does for a virtual machine's TSO.

/** sizeof(struct virtio_net_hdr): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset. */
export const VNET_HEADER = 10;
/** The checksum at csum_start + csum_offset holds the pseudo-header sum; the kernel completes it. */
const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
/** Offset of the checksum field in a TCP header (RFC 9293 §3.1). */
const TCP_CHECKSUM = 16;

/** Writes an empty header (no offload: the frame is complete as it is) at `out[0..10)`. */
export function writePlainVnetHeader(out: Uint8Array): void {
  out.fill(0, 0, VNET_HEADER);
}

/**
 * Writes the header of a merged TCP/IPv4 frame at `out[0..10)`, little-endian as x86-64 and arm64
 * expect: GSO TCPV4 at `mss` payload bytes per segment, with the TCP checksum to be completed by the
 * kernel from `csum_start` (the TCP header) — the frame's checksum field holds the pseudo-header
 * sum of the whole, the convention `Link.sendSegmented` shares with virtio-net. `frame` is the
 * merged frame, whose IPv4 header starts at `l3` (14 on a TAP, 0 on a TUN). Returns false when the
 * frame is not IPv4 carrying TCP.
 */
export function writeSegmentedVnetHeader(
  out: Uint8Array,
  frame: Uint8Array,
  l3: number,
  mss: number,
): boolean {
  if (frame.length < l3 + 40 || frame[l3]! >> 4 !== 4 || frame[l3 + 9] !== 6) return false;
  const tcp = l3 + (frame[l3]! & 15) * 4;
  const headers = tcp + (frame[tcp + 12]! >> 4) * 4;
  out[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  out[1] = VIRTIO_NET_HDR_GSO_TCPV4;
  out[2] = headers & 0xff; // hdr_len: every header before the payload
  out[3] = headers >>> 8;
  out[4] = mss & 0xff; // gso_size
  out[5] = mss >>> 8;
  out[6] = tcp & 0xff; // csum_start
  out[7] = tcp >>> 8;
  out[8] = TCP_CHECKSUM; // csum_offset
  out[9] = 0;
  return true;
}
