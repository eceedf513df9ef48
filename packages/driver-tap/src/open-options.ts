import type { DriverError } from "./driver-error.js";

/** Options shared by {@link openTap}, {@link openTun} and {@link openPacket}. */
export interface OpenOptions {
  /**
   * Make or find the device in this network namespace (a name from `ip netns list`, or an absolute
   * path such as `/proc/<pid>/ns/net`) instead of the caller's own. The opener enters it on the
   * calling thread only for the few system calls that bind the descriptor to the device, then
   * returns; the program keeps running in its own namespace and the device never appears in it.
   * Needs CAP_SYS_ADMIN (root).
   */
  netns?: string;
  /**
   * At most this many frames are read and delivered before the link yields the event loop
   * (`flush()`, then a `setImmediate` turn). Default 128, fewer when frames are very large (the
   * receive slab stays under 4 MiB).
   */
  batch?: number;
  /**
   * Called once per kind of failure after opening (the interface deleted or down, write errors);
   * without it, such failures are printed once as a process warning. Drops are counted in `stats`.
   */
  onError?: (error: DriverError) => void;
}

/** The `gso` option of {@link openTap} and {@link openTun}. */
export interface GsoOption {
  /**
   * Merge each burst of consecutive TCP segments of one connection, sent in one turn of the event
   * loop, into one write of up to 64 KiB that the kernel takes through its receive path once
   * (IFF_VNET_HDR with a `virtio_net_hdr` of gso_type TCPV4: what a virtual machine's TSO does).
   * Checksums stay complete. Off by default: one write(2) per frame. Bulk transfers to the kernel
   * go about twice as fast (see the README's benchmark); the kernel then counts and captures the
   * merged frames, larger than the MTU, as it does after GRO.
   */
  gso?: boolean;
}

/** Frames per batch when the caller does not say (and frames are of ordinary size). */
export const DEFAULT_BATCH = 128;
/** The default batch shrinks so the receive slab (batch × largest frame) stays under this. */
const DEFAULT_SLAB_BYTES = 4 * 1024 * 1024;

/**
 * The batch option, checked; without one, {@link DEFAULT_BATCH} or as many frames of
 * `largestFrame` bytes as fit in 4 MiB, whichever is smaller (at least 8).
 */
export function checkBatch(batch: number | undefined, largestFrame: number): number {
  if (batch === undefined)
    return Math.max(8, Math.min(DEFAULT_BATCH, Math.floor(DEFAULT_SLAB_BYTES / largestFrame)));
  if (!Number.isInteger(batch) || batch < 1 || batch > 4096) {
    throw new RangeError(`batch must be an integer from 1 to 4096, not ${batch}.`);
  }
  return batch;
}

/** The mtu option, checked (68 is IPv4's minimum, RFC 791; 65535 the largest IPv4 datagram). */
export function checkMtu(mtu: number | undefined): number | undefined {
  if (mtu === undefined) return undefined;
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
    throw new RangeError(`mtu must be an integer from 68 to 65535, not ${mtu}.`);
  }
  return mtu;
}
