// The internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of
// the data taken as big-endian 16-bit words, an odd last byte padded with zero.
//
// Speed: headers and short segments (under 128 bytes) are summed a byte at a time, high and low
// bytes apart: anything wider needs a typed-array view of the buffer, and even finding a cached one
// (`b.buffer`) costs more than summing 100 bytes. Long buffers go to a WebAssembly SIMD loop
// (checksum-wasm.ts) where the engine has one; without it, the bulk is summed as aligned 32-bit
// little-endian words through a Uint32Array view (one view per buffer, reused). The one's
// complement sum is byte-order independent up to a final byte swap (RFC 1071 §2(B)), and a sum of
// 32-bit words folds to the same 16-bit sum (§2(C), "parallel summation"). A double holds 2^53, so
// no carry is lost for chunks under 2^21 words between folds.

import { WASM_CHUNK, wasmSummer } from "./checksum-wasm.js";

/**
 * Below this many bytes the byte loop is as fast as copying into WebAssembly memory or faster
 * (measured on Node 20, CPU time: 64 bytes 43 ns in JavaScript, 34–68 ns with SIMD; 128 bytes
 * 82 ns, 42–80 ns; 256 bytes 154 ns, 48–92 ns — the lower SIMD figure when the range is most of
 * its buffer and is copied with it, the higher when it needs a view of its own).
 */
const SHORT_SUM = 128;

/** Folds a wide one's complement sum into 16 bits (end-around carries). */
export function foldSum(sum: number): number {
  if (sum <= 0x7fffffff) {
    // Two folds take any 31-bit sum to 16 bits: 0x7fff + 0xffff, then at most 0xffff + 1.
    sum = (sum & 0xffff) + (sum >>> 16);
    return (sum & 0xffff) + (sum >>> 16);
  }
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

function swap16(x: number): number {
  return ((x & 0xff) << 8) | (x >>> 8);
}

/**
 * Sums bytes [from, to) as big-endian pairs; when `odd`, `b[from]` is a low byte (the sum started
 * one byte earlier). The high and the low bytes of the words are summed apart and weighted once at
 * the end (RFC 1071 §2(B): the sum is the same however the bytes are grouped): one load and one add
 * a byte, no shifts in the loop. Exact for any length a datagram can have.
 */
function sumBytes(b: Uint8Array, from: number, to: number, odd: boolean): number {
  let hi = 0;
  let lo = 0;
  let i = from;
  for (; i + 7 < to; i += 8) {
    hi += b[i]! + b[i + 2]! + b[i + 4]! + b[i + 6]!;
    lo += b[i + 1]! + b[i + 3]! + b[i + 5]! + b[i + 7]!;
  }
  for (; i + 1 < to; i += 2) {
    hi += b[i]!;
    lo += b[i + 1]!;
  }
  if (i < to) hi += b[i]!;
  return odd ? lo * 256 + hi : hi * 256 + lo;
}

/**
 * Below this many bytes the byte loop wins in {@link jsSum}: finding the word view of a buffer
 * (`b.buffer`) costs about 100 ns when the array is not the one summed last.
 */
const WORD_LOOP_MIN = 512;
/** Chunk of 32-bit words summed between folds; far below the 2^21 words a double can carry. */
const WORDS_PER_FOLD = 1 << 20;

// A word view over the last buffer summed, reused while callers sum the same buffer (the stack
// builds and parses every frame in a few reused buffers). Creating a typed-array view costs about
// as much as summing 600 bytes, so one per call would dominate. It keeps that one buffer alive
// until a sum over another buffer replaces it. The array summed last is remembered too: reading
// `b.buffer` is itself a slow call, skipped when the same array comes back.
let viewBytes: Uint8Array | undefined;
let viewBuffer: ArrayBufferLike | undefined;
let viewWords: Uint32Array = new Uint32Array(0);

function wordsOver(b: Uint8Array, endWord: number): Uint32Array {
  if (b === viewBytes && viewWords.length >= endWord) return viewWords;
  const buffer = b.buffer;
  if (buffer !== viewBuffer || viewWords.length < endWord) {
    viewBuffer = buffer;
    viewWords = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  }
  viewBytes = b;
  return viewWords;
}

/**
 * The one's complement sum of `b[start..end)` plus `initial` (an earlier partial sum, e.g. the
 * pseudo-header), folded to 16 bits but not complemented. Chain partial sums by passing the result
 * as `initial` — each part must start at an even offset of the whole, as headers and payloads do.
 */
export function onesComplementSum(b: Uint8Array, start = 0, end = b.length, initial = 0): number {
  if (end - start < SHORT_SUM) return foldSum(initial + sumBytes(b, start, end, false));
  if (wasmSummer !== undefined) return simdSum(b, start, end, initial);
  return jsSum(b, start, end, initial);
}

/**
 * The one's complement sum of the TCP or UDP segment `b[start..end)` and its IPv4 pseudo-header
 * (RFC 9293 §3.1, RFC 768: source, destination, zero, `protocol`, and the segment length
 * `end - start`), folded to 16 bits: 0xffff when a received segment's checksum verifies;
 * `~sum & 0xffff` is the checksum to write when the checksum field holds zero. One call, the
 * segment read in place: no view of it is needed.
 */
export function sumWithPseudoHeader(
  b: Uint8Array,
  start: number,
  end: number,
  source: number,
  destination: number,
  protocol: number,
): number {
  // Six 16-bit words: at most 6 × 0xffff, which the sum below folds with the rest.
  const pseudo =
    (source >>> 16) +
    (source & 0xffff) +
    (destination >>> 16) +
    (destination & 0xffff) +
    protocol +
    (end - start);
  return onesComplementSum(b, start, end, pseudo);
}

/** {@link onesComplementSum} with WebAssembly SIMD for the bulk: 32-byte blocks, 64 KiB at a time. */
function simdSum(b: Uint8Array, start: number, end: number, initial: number): number {
  let wide = 0;
  let at = start;
  const blocks = end - ((end - start) & 31);
  while (at < blocks) {
    const stop = Math.min(blocks, at + WASM_CHUNK);
    wide += wasmSummer!.sum(b, at, stop);
    at = stop;
  }
  // The module sums little-endian words: swap to big-endian. The tail starts at an even offset.
  return foldSum(initial + swap16(foldSum(wide)) + sumBytes(b, blocks, end, false));
}

/** The JavaScript path of {@link onesComplementSum}; exported for tests and for comparison. */
export function jsSum(b: Uint8Array, start = 0, end = b.length, initial = 0): number {
  const len = end - start;
  if (len < WORD_LOOP_MIN) return foldSum(initial + sumBytes(b, start, end, false));
  // Bytes before the first 4-byte aligned address.
  const abs = b.byteOffset + start;
  const lead = (4 - (abs & 3)) & 3;
  let sum = foldSum(initial) + sumBytes(b, start, start + lead, false);
  const firstWord = (abs + lead) >>> 2;
  const stop = firstWord + ((len - lead) >>> 2);
  const w = wordsOver(b, stop);
  let wide = 0;
  for (let base = firstWord; base < stop; base += WORDS_PER_FOLD) {
    const chunkEnd = Math.min(stop, base + WORDS_PER_FOLD);
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let i = base;
    for (; i + 3 < chunkEnd; i += 4) {
      s0 += w[i]!;
      s1 += w[i + 1]!;
      s2 += w[i + 2]!;
      s3 += w[i + 3]!;
    }
    for (; i < chunkEnd; i++) s0 += w[i]!;
    wide = foldSum(wide + s0 + s1 + s2 + s3);
  }
  // Little-endian words pair (low, high) bytes. With an even lead that is the big-endian pairing
  // swapped; with an odd lead it already gives each byte its big-endian weight.
  sum += (lead & 1) === 0 ? swap16(wide) : wide;
  const tail = start + lead + (stop - firstWord) * 4;
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
