// SipHash-2-4 (Aumasson & Bernstein, 2012), the keyed hash RFC 6528 §3 asks for ("a
// cryptographic hash function ... keyed with a secret"), as Linux uses for its ISNs and SYN
// cookies. JavaScript has no 64-bit integers without BigInt, so each 64-bit lane is a pair of
// unsigned 32-bit halves; no allocation per call.

/** A SipHash-2-4 key: 16 bytes read as two little-endian 64-bit words. */
export class SipKey {
  readonly k0h: number;
  readonly k0l: number;
  readonly k1h: number;
  readonly k1l: number;
  constructor(key: Uint8Array) {
    if (key.length < 16) throw new RangeError(`SipKey: the key needs 16 bytes, got ${key.length}`);
    this.k0l = le32(key, 0);
    this.k0h = le32(key, 4);
    this.k1l = le32(key, 8);
    this.k1h = le32(key, 12);
  }
}

function le32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

// The state lives in module variables: no allocation, and the functions are never re-entered.
let v0h = 0;
let v0l = 0;
let v1h = 0;
let v1l = 0;
let v2h = 0;
let v2l = 0;
let v3h = 0;
let v3l = 0;

function round(): void {
  // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
  let l = (v0l + v1l) >>> 0;
  v0h = (v0h + v1h + (l < v0l ? 1 : 0)) >>> 0;
  v0l = l;
  let h = ((v1h << 13) | (v1l >>> 19)) >>> 0;
  l = ((v1l << 13) | (v1h >>> 19)) >>> 0;
  v1h = (h ^ v0h) >>> 0;
  v1l = (l ^ v0l) >>> 0;
  h = v0h;
  v0h = v0l;
  v0l = h;
  // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
  l = (v2l + v3l) >>> 0;
  v2h = (v2h + v3h + (l < v2l ? 1 : 0)) >>> 0;
  v2l = l;
  h = ((v3h << 16) | (v3l >>> 16)) >>> 0;
  l = ((v3l << 16) | (v3h >>> 16)) >>> 0;
  v3h = (h ^ v2h) >>> 0;
  v3l = (l ^ v2l) >>> 0;
  // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
  l = (v0l + v3l) >>> 0;
  v0h = (v0h + v3h + (l < v0l ? 1 : 0)) >>> 0;
  v0l = l;
  h = ((v3h << 21) | (v3l >>> 11)) >>> 0;
  l = ((v3l << 21) | (v3h >>> 11)) >>> 0;
  v3h = (h ^ v0h) >>> 0;
  v3l = (l ^ v0l) >>> 0;
  // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
  l = (v2l + v1l) >>> 0;
  v2h = (v2h + v1h + (l < v2l ? 1 : 0)) >>> 0;
  v2l = l;
  h = ((v1h << 17) | (v1l >>> 15)) >>> 0;
  l = ((v1l << 17) | (v1h >>> 15)) >>> 0;
  v1h = (h ^ v2h) >>> 0;
  v1l = (l ^ v2l) >>> 0;
  h = v2h;
  v2h = v2l;
  v2l = h;
}

function compress(mh: number, ml: number): void {
  v3h ^= mh;
  v3l ^= ml;
  round();
  round();
  v0h = (v0h ^ mh) >>> 0;
  v0l = (v0l ^ ml) >>> 0;
}

/**
 * SipHash-2-4 of `msg[0..len)` under `key`; returns the low 32 bits of the 64-bit result (the
 * high 32 bits are left in {@link sipHashHigh} for callers that want all 64).
 */
export function sipHash(key: SipKey, msg: Uint8Array, len = msg.length): number {
  v0h = (key.k0h ^ 0x736f6d65) >>> 0;
  v0l = (key.k0l ^ 0x70736575) >>> 0;
  v1h = (key.k1h ^ 0x646f7261) >>> 0;
  v1l = (key.k1l ^ 0x6e646f6d) >>> 0;
  v2h = (key.k0h ^ 0x6c796765) >>> 0;
  v2l = (key.k0l ^ 0x6e657261) >>> 0;
  v3h = (key.k1h ^ 0x74656462) >>> 0;
  v3l = (key.k1l ^ 0x79746573) >>> 0;
  const whole = len & ~7;
  for (let i = 0; i < whole; i += 8) compress(le32(msg, i + 4), le32(msg, i));
  // Last block: the remaining bytes, little-endian, with len mod 256 in the top byte.
  let lo = 0;
  let hi = ((len & 0xff) << 24) >>> 0;
  for (let i = whole; i < len; i++) {
    const k = i - whole;
    if (k < 4) lo = (lo | (msg[i]! << (8 * k))) >>> 0;
    else hi = (hi | (msg[i]! << (8 * (k - 4)))) >>> 0;
  }
  compress(hi, lo);
  v2l = (v2l ^ 0xff) >>> 0;
  round();
  round();
  round();
  round();
  sipHashHigh = (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
  return (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
}

/** High 32 bits of the last {@link sipHash} result. */
export let sipHashHigh = 0;
