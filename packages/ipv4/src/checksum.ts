// The internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of
// the data taken as big-endian 16-bit words, an odd last byte padded with zero.
//
// Speed: the bulk is summed as aligned 32-bit little-endian words through a Uint32Array view. The
// one's complement sum is byte-order independent up to a final byte swap (RFC 1071 §2(B)), and a
// sum of 32-bit words folds to the same 16-bit sum (§2(C), "parallel summation"). A double holds
// 2^53, so no carry is lost for buffers under 2^21 words (8 MiB) between folds.

/** Folds a wide one's complement sum into 16 bits (end-around carries). */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

function swap16(x: number): number {
  return ((x & 0xff) << 8) | (x >>> 8);
}

/** Sums bytes [from, to) as big-endian pairs; when `odd`, `b[from]` is a low byte (the sum started one byte earlier). */
function sumBytes(b: Uint8Array, from: number, to: number, odd: boolean): number {
  let sum = 0;
  let i = from;
  if (odd && i < to) sum += b[i++]!;
  for (; i + 1 < to; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < to) sum += b[i]! << 8;
  return sum;
}

/** Chunk of 32-bit words summed between folds; far below the 2^21 words a double can carry. */
const WORDS_PER_FOLD = 1 << 20;

/**
 * The one's complement sum of `b[start..end)` plus `initial` (an earlier partial sum, e.g. the
 * pseudo-header), folded to 16 bits but not complemented. Chain partial sums by passing the result
 * as `initial` — each part must start at an even offset of the whole, as headers and payloads do.
 */
export function onesComplementSum(b: Uint8Array, start = 0, end = b.length, initial = 0): number {
  const len = end - start;
  if (len < 32) return foldSum(initial + sumBytes(b, start, end, false));
  // Bytes before the first 4-byte aligned address.
  const lead = (4 - ((b.byteOffset + start) & 3)) & 3;
  let sum = initial + sumBytes(b, start, start + lead, false);
  const alignedStart = start + lead;
  const words = (end - alignedStart) >>> 2;
  const w = new Uint32Array(b.buffer, b.byteOffset + alignedStart, words);
  let wide = 0;
  for (let base = 0; base < words; base += WORDS_PER_FOLD) {
    const stop = Math.min(words, base + WORDS_PER_FOLD);
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let i = base;
    for (; i + 3 < stop; i += 4) {
      s0 += w[i]!;
      s1 += w[i + 1]!;
      s2 += w[i + 2]!;
      s3 += w[i + 3]!;
    }
    for (; i < stop; i++) s0 += w[i]!;
    wide = foldSum(wide + s0 + s1 + s2 + s3);
  }
  // Little-endian words pair (low, high) bytes. With an even lead that is the big-endian pairing
  // swapped; with an odd lead it already gives each byte its big-endian weight.
  sum += (lead & 1) === 0 ? swap16(wide) : wide;
  const tail = alignedStart + words * 4;
  sum += sumBytes(b, tail, end, (lead & 1) === 1);
  return foldSum(sum);
}

/** The internet checksum of `b[start..end)` (with an optional partial sum): the value to put in a header. */
export function internetChecksum(b: Uint8Array, start = 0, end = b.length, initial = 0): number {
  return ~onesComplementSum(b, start, end, initial) & 0xffff;
}

/**
 * The one's complement sum of the IPv4 pseudo-header TCP and UDP checksums cover (RFC 9293
 * §3.1, RFC 768): source, destination, zero, protocol, and the transport length.
 */
export function pseudoHeaderSum(
  source: number,
  destination: number,
  protocol: number,
  length: number,
): number {
  return foldSum(
    (source >>> 16) + (source & 0xffff) + (destination >>> 16) + (destination & 0xffff) + protocol + length,
  );
}

/**
 * Incremental update (RFC 1624 eqn. 3): the new checksum after one 16-bit field changes from
 * `oldWord` to `newWord`, without summing the data again: HC' = ~(~HC + ~m + m').
 */
export function updateChecksum(checksum: number, oldWord: number, newWord: number): number {
  return ~foldSum((~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

/** {@link updateChecksum} for a 32-bit field (an address), as two 16-bit words. */
export function updateChecksum32(checksum: number, oldValue: number, newValue: number): number {
  return updateChecksum(
    updateChecksum(checksum, oldValue >>> 16, newValue >>> 16),
    oldValue & 0xffff,
    newValue & 0xffff,
  );
}
