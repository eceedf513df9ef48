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
   * (`flush()`, then a `setImmediate` turn). Default 64.
   */
  batch?: number;
  /**
   * Called once per kind of failure after opening (the interface deleted or down, write errors);
   * without it, such failures are printed once as a process warning. Drops are counted in `stats`.
   */
  onError?: (error: DriverError) => void;
}

/** Frames per batch when the caller does not say. */
export const DEFAULT_BATCH = 64;

/** The batch option, checked. */
export function checkBatch(batch: number | undefined): number {
  if (batch === undefined) return DEFAULT_BATCH;
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
