import { createHash } from "node:crypto";

/** SHA-256 of `b` as hex: what transfer tests compare at both ends. */
export const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/**
 * Deterministic bytes (a seeded xorshift32 stream): the same in every process, so a transfer's
 * hash is reproducible wherever it is checked, and a misplaced or doubled byte changes it.
 */
export function pattern(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 255;
  }
  return b;
}
