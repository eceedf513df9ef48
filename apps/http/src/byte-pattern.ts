import { Readable } from "node:stream";

/** The 64 bytes `GET /bytes/N` repeats: a–z, A–Z, 0–9, '-', '\n'. Easy to check, easy to read. */
export const PATTERN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-\n";

/** 64 KiB of the pattern, built once: a multiple of 64, so every chunk starts at the pattern's start. */
const BLOCK = Buffer.from(PATTERN.repeat(1024), "latin1");

/** The largest body `/bytes/N` serves: 1 TiB (a bound, not a buffer: nothing of that size is held). */
export const MAX_PATTERN_BYTES = 2 ** 40;

/**
 * The first `n` bytes of the pattern repeated, as a stream of views of one shared 64 KiB block:
 * memory stays constant whatever `n` is, and the block is never written after it was built, so
 * queued views stay valid.
 */
export function patternStream(n: number): Readable {
  let left = n;
  return new Readable({
    highWaterMark: 4 * BLOCK.length,
    read() {
      while (left > 0) {
        const k = Math.min(left, BLOCK.length);
        left -= k;
        if (!this.push(BLOCK.subarray(0, k))) return;
      }
      this.push(null);
    },
  });
}
