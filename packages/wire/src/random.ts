// The Web Crypto CSPRNG exists as a global in browsers, workers, Node >= 19, Deno and Bun. Declared
// here rather than pulling in the DOM or Node type libraries, which protocol packages must not see.
declare const crypto: { getRandomValues<T extends Uint8Array | Uint32Array>(array: T): T };

/** Fills `b` with cryptographically secure random bytes (Web Crypto), 65536 bytes at a time. */
export function fillRandom(b: Uint8Array): void {
  for (let at = 0; at < b.length; at += 65536)
    crypto.getRandomValues(b.subarray(at, Math.min(b.length, at + 65536)));
}

/** A cryptographically secure random unsigned 32-bit integer. */
export function randomU32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}
