import { afterEach, describe, expect, it, vi } from "vitest";
import { realClock } from "./real-clock.js";

afterEach(() => vi.restoreAllMocks());

describe("realClock", () => {
  it("reads a monotonic time with a wall-clock origin", () => {
    const c = realClock();
    const a = c.now();
    const b = c.now();
    expect(b).toBeGreaterThanOrEqual(a);
    expect(c.timeOrigin! + a).toBeGreaterThan(Date.UTC(2020, 0, 1));
    expect(realClock()).toBe(c);
  });

  it("runs a timer due now through setImmediate, never setTimeout's 1 ms floor, and never synchronously", async () => {
    const immediate = vi.spyOn(globalThis, "setImmediate");
    const timeout = vi.spyOn(globalThis, "setTimeout");
    const c = realClock();
    let ran = false;
    const done = new Promise<void>((resolve) =>
      c.setTimer(c.now() - 5, () => {
        ran = true;
        resolve();
      }),
    );
    expect(ran).toBe(false);
    await done;
    expect(immediate).toHaveBeenCalledTimes(1);
    expect(timeout).not.toHaveBeenCalled();
  });

  it("never fires before the deadline and fires deadlines in order", async () => {
    const c = realClock();
    const start = c.now();
    const fired: { at: number; now: number }[] = [];
    await new Promise<void>((resolve) => {
      for (let k = 0; k < 12; k++) {
        const at = start + 1 + k * 0.7;
        c.setTimer(at, () => {
          fired.push({ at, now: c.now() });
          if (fired.length === 12) resolve();
        });
      }
    });
    for (const f of fired) expect(f.now).toBeGreaterThanOrEqual(f.at);
    expect(fired.map((f) => f.at)).toEqual([...fired.map((f) => f.at)].sort((a, b) => a - b));
  });

  it("clears a pending timer", async () => {
    const c = realClock();
    let ran = 0;
    const h = c.setTimer(c.now() + 2, () => ran++);
    const h2 = c.setTimer(c.now(), () => ran++);
    c.clearTimer(h);
    c.clearTimer(h2);
    await new Promise((r) => setTimeout(r, 10));
    expect(ran).toBe(0);
  });
});
