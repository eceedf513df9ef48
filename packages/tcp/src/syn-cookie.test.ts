import { describe, expect, it } from "vitest";
import { checkCookie, cookieIsn, cookieTsOptions, cookieTsVal } from "./syn-cookie.js";
import { TupleHash } from "./tuple-hash.js";

describe("SYN cookies (RFC 4987 §3.6)", () => {
  const hash = new TupleHash(Uint8Array.from({ length: 48 }, (_, i) => i * 3));
  const args = [0x0a000001, 80, 0x0a000002, 40000, 123456] as const;
  it("validates for two minutes with the MSS encoded, then expires", () => {
    const c = cookieIsn(hash, ...args, 1460, 1_000_000);
    expect(checkCookie(hash, ...args, c, 1_000_000)).toBe(1460);
    expect(checkCookie(hash, ...args, c, 1_000_000 + 120_000)).toBe(1460);
    expect(checkCookie(hash, ...args, c, 1_000_000 + 240_000)).toBe(-1);
    expect(checkCookie(hash, 0x0a000001, 80, 0x0a000002, 40001, 123456, c, 1_000_000)).toBe(-1);
    expect(checkCookie(hash, ...args, (c ^ 1) >>> 0, 1_000_000)).toBe(-1);
    expect(checkCookie(hash, ...args, cookieIsn(hash, ...args, 1000, 0), 0)).toBe(536); // the largest table entry not above 1000
  });
  it("carries window scale and SACK-permitted in the timestamp, below the current clock", () => {
    const ts = cookieTsVal(5000, 7, true);
    expect(ts).toBeLessThan(5000);
    expect(cookieTsOptions(ts)).toEqual({ wscale: 7, sackOk: true });
    expect(cookieTsOptions(cookieTsVal(5000, -1, false))).toEqual({ wscale: -1, sackOk: false });
    expect(cookieTsOptions(0)).toBeUndefined();
  });
});
