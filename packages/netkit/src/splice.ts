import type { Duplex } from "node:stream";

/** Bytes a {@link splice} carried each way. */
export interface SpliceCounts {
  /** From the first socket to the second. */
  forward: number;
  /** From the second socket to the first. */
  backward: number;
}

type Resettable = Duplex & { resetAndDestroy?: () => void };

const RESET_CODES = new Set(["ECONNRESET", "ECONNABORTED", "EPIPE", "ETIMEDOUT"]);

/**
 * Joins two connections (a real `net.Socket` and a userstack socket, or two of either) the way
 * slirp joins a guest connection to a host one: bytes flow both ways with backpressure, a FIN
 * on one side becomes a FIN on the other (half-close, so both sockets must be `allowHalfOpen`),
 * and a reset or an error on one side resets the other. Resolves when both have closed.
 */
export function splice(
  a: Duplex,
  b: Duplex,
  counts: SpliceCounts = { forward: 0, backward: 0 },
): Promise<SpliceCounts> {
  a.on("data", (d: Uint8Array) => {
    counts.forward += d.length;
  });
  b.on("data", (d: Uint8Array) => {
    counts.backward += d.length;
  });
  a.pipe(b);
  b.pipe(a);
  const propagate = (from: Duplex, to: Resettable) => {
    from.on("error", (e: Error & { code?: string }) => {
      if (to.destroyed) return;
      if (e.code !== undefined && RESET_CODES.has(e.code) && to.resetAndDestroy) to.resetAndDestroy();
      else to.destroy();
    });
    // Closed without its end of stream (destroyed locally): nothing more can cross, end the other.
    from.on("close", () => {
      if (!from.readableEnded && !to.destroyed) to.destroy();
    });
  };
  propagate(a, b);
  propagate(b, a);
  const closed = (s: Duplex) =>
    new Promise<void>((resolve) => (s.destroyed && s.closed ? resolve() : s.once("close", () => resolve())));
  return Promise.all([closed(a), closed(b)]).then(() => counts);
}
