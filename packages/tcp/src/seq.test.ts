import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { add, geq, gt, inWindow, leq, lt, max, min, sub } from "./seq.js";

describe("sequence arithmetic modulo 2^32 (RFC 9293 §3.4)", () => {
  it("compares across the wrap", () => {
    expect(lt(0xffffff00, 0x10)).toBe(true);
    expect(gt(0x10, 0xffffff00)).toBe(true);
    expect(lt(5, 5)).toBe(false);
    expect(leq(5, 5)).toBe(true);
    expect(geq(5, 5)).toBe(true);
    expect(gt(5, 5)).toBe(false);
    expect(lt(1, 2)).toBe(true);
    expect(gt(2, 1)).toBe(true);
    expect(max(0xfffffff0, 3)).toBe(3);
    expect(min(0xfffffff0, 3)).toBe(0xfffffff0);
  });
  it("adds and subtracts modulo 2^32", () => {
    expect(add(0xffffffff, 1)).toBe(0);
    expect(add(0, -1)).toBe(0xffffffff);
    expect(add(0xfffffff0, 0x20)).toBe(0x10);
    expect(sub(0x10, 0xfffffff0)).toBe(0x20);
    expect(sub(0xfffffff0, 0x10)).toBe(-0x20);
  });
  it("inWindow is start <= s < start + size", () => {
    expect(inWindow(100, 100, 10)).toBe(true);
    expect(inWindow(109, 100, 10)).toBe(true);
    expect(inWindow(110, 100, 10)).toBe(false);
    expect(inWindow(99, 100, 10)).toBe(false);
    expect(inWindow(100, 100, 0)).toBe(false);
    expect(inWindow(3, 0xfffffffe, 10)).toBe(true);
    expect(inWindow(0xfffffffd, 0xfffffffe, 10)).toBe(false);
  });
  it("agrees with exact arithmetic for distances under 2^31", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 }),
        (a, d) => {
          const b = add(a, d);
          return (
            sub(b, a) === d &&
            lt(a, b) === d > 0 &&
            gt(a, b) === d < 0 &&
            leq(a, b) === d >= 0 &&
            geq(a, b) === d <= 0 &&
            b >= 0 &&
            b <= 0xffffffff
          );
        },
      ),
    );
  });
  it("inWindow matches the definition", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        fc.integer({ min: -(2 ** 30), max: 2 ** 30 }),
        (start, size, off) => inWindow(add(start, off), start, size) === (off >= 0 && off < size),
      ),
    );
  });
});
