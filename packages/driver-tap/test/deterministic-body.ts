// A deterministic, non-repeating byte stream for transfers: the AES-128-CTR keystream of a seed.
// Every byte depends on its offset, so a segment delivered at the wrong place, twice or not at all
// changes the SHA-256; and it is generated at GB/s, so a 100 MB body costs the sender almost nothing.
import { createCipheriv, createHash } from "node:crypto";
import { Readable } from "node:stream";

const CHUNK = 64 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

/** The body's chunks (64 KiB each, the last shorter): `size` bytes in all, fixed by `seed`. */
export function* bodyChunks(seed: number, size: number): Generator<Buffer> {
  const key = createHash("sha256").update(`userstack body ${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  for (let left = size; left > 0; left -= CHUNK) {
    yield cipher.update(left >= CHUNK ? ZEROS : ZEROS.subarray(0, left));
  }
}

/** The body as a readable stream (it respects the consumer's backpressure). */
export function bodyStream(seed: number, size: number): Readable {
  return Readable.from(bodyChunks(seed, size), { objectMode: false });
}

const digests = new Map<string, string>();

/** The body's SHA-256 in hex, computed here independently of any transfer (cached). */
export function bodyDigest(seed: number, size: number): string {
  const key = `${seed}/${size}`;
  let d = digests.get(key);
  if (d === undefined) {
    const h = createHash("sha256");
    for (const c of bodyChunks(seed, size)) h.update(c);
    d = h.digest("hex");
    digests.set(key, d);
  }
  return d;
}
