import type { TupleHash } from "./tuple-hash.js";

// SYN cookies (RFC 4987 §3.6), laid out as Linux does: the ISN of the SYN-ACK carries a time
// counter (5 bits, one tick a minute), an MSS index (3 bits) and a 24-bit MAC of the 4-tuple, the
// peer's ISN and the counter. A valid ACK can then create the connection with no state kept
// for the SYN. With timestamps, the low 6 bits of our TSval carry the window scale and SACK-
// permitted the peer offered (Linux cookie_init_timestamp), so those options survive too.

/** MSS values a cookie can encode (index in 3 bits). */
export const COOKIE_MSS = [536, 1200, 1300, 1360, 1400, 1440, 1460, 8960] as const;
const TICK_MS = 60_000;
/** Cookies older than this many ticks are refused (Linux MAX_SYNCOOKIE_AGE 2). */
const MAX_AGE = 2;

function counter(now: number): number {
  return Math.floor(now / TICK_MS);
}

/** The ISN to answer a SYN with when the SYN queue is full. */
export function cookieIsn(
  hash: TupleHash,
  la: number,
  lp: number,
  ra: number,
  rp: number,
  peerIsn: number,
  peerMss: number,
  now: number,
): number {
  let idx = 0;
  for (let i = COOKIE_MSS.length - 1; i >= 0; i--)
    if (COOKIE_MSS[i]! <= peerMss) {
      idx = i;
      break;
    }
  const t = counter(now);
  const mac = hash.cookie(la, lp, ra, rp, peerIsn, t) & 0xffffff;
  return (((t & 31) << 27) | (idx << 24) | mac) >>> 0;
}

/** The MSS a valid cookie encodes, or -1 when `cookie` (SEG.ACK − 1) is not one of ours or too old. */
export function checkCookie(
  hash: TupleHash,
  la: number,
  lp: number,
  ra: number,
  rp: number,
  peerIsn: number,
  cookie: number,
  now: number,
): number {
  const t = counter(now);
  const tc = cookie >>> 27;
  for (let age = 0; age <= MAX_AGE; age++) {
    const cand = t - age;
    if (cand < 0 || (cand & 31) !== tc) continue;
    if ((hash.cookie(la, lp, ra, rp, peerIsn, cand) & 0xffffff) === (cookie & 0xffffff))
      return COOKIE_MSS[(cookie >>> 24) & 7]!;
  }
  return -1;
}

/** Bit 5 marks a TSval that carries cookie options. */
const TS_MARK = 0x20;

/**
 * Our TSval for a cookie SYN-ACK: below `tsNow` (so later TSvals stay monotonic, RFC 7323 §5.4)
 * with the peer's window scale (15 = none) and SACK-permitted in the low bits.
 */
export function cookieTsVal(tsNow: number, wscale: number, sackOk: boolean): number {
  const bits = (wscale < 0 ? 15 : Math.min(wscale, 14)) | (sackOk ? 0x10 : 0) | TS_MARK;
  return ((((tsNow - 64) >>> 0) & ~0x3f) | bits) >>> 0;
}

/** The options a cookie TSecr carries back, or undefined when it carries none. */
export function cookieTsOptions(tsEcr: number): { wscale: number; sackOk: boolean } | undefined {
  if ((tsEcr & TS_MARK) === 0) return undefined;
  const ws = tsEcr & 0x0f;
  return { wscale: ws === 15 ? -1 : ws, sackOk: (tsEcr & 0x10) !== 0 };
}
