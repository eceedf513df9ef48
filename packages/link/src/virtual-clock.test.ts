import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "./virtual-clock.js";

describe("VirtualClock", () => {
  it("stands still until the test moves it", () => {
    const c = new VirtualClock({ start: 5 });
    let ran = false;
    c.setTimer(10, () => (ran = true));
    expect(c.now()).toBe(5);
    expect(ran).toBe(false);
    expect(c.pending).toBe(1);
    expect(c.nextDeadline()).toBe(10);
  });

  it("runs each timer at its own deadline, in deadline order", () => {
    const c = new VirtualClock();
    const log: string[] = [];
    c.setTimer(30, () => log.push(`c@${c.now()}`));
    c.setTimer(10, () => log.push(`a@${c.now()}`));
    c.setTimer(20, () => log.push(`b@${c.now()}`));
    expect(c.advance(25)).toBe(2);
    expect(log).toEqual(["a@10", "b@20"]);
    expect(c.now()).toBe(25);
    c.advance(5);
    expect(log).toEqual(["a@10", "b@20", "c@30"]);
  });

  it("runs equal deadlines in the order they were set, and a past deadline after those due now", () => {
    const c = new VirtualClock({ start: 100 });
    const log: number[] = [];
    for (let i = 0; i < 5; i++) c.setTimer(100, () => log.push(i));
    c.setTimer(50, () => log.push(5)); // in the past: "soon", after what is already due now
    c.setTimer(100, () => log.push(6));
    c.advance(0);
    expect(log).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("runs timers that timers set, when they fall inside the advance", () => {
    const c = new VirtualClock();
    const log: number[] = [];
    c.setTimer(1, () => {
      log.push(c.now());
      c.setTimer(c.now() + 1, () => log.push(c.now()));
      c.setTimer(c.now() + 100, () => log.push(c.now()));
    });
    c.advance(10);
    expect(log).toEqual([1, 2]);
    expect(c.pending).toBe(1);
  });

  it("clears timers, and clearing twice or after it ran does nothing", () => {
    const c = new VirtualClock();
    const log: string[] = [];
    const a = c.setTimer(1, () => log.push("a"));
    const b = c.setTimer(2, () => log.push("b"));
    c.clearTimer(a);
    c.clearTimer(a);
    c.runUntilIdle();
    c.clearTimer(b);
    expect(log).toEqual(["b"]);
    expect(c.pending).toBe(0);
  });

  it("runUntilIdle jumps from deadline to deadline and stops at maxTime", () => {
    const c = new VirtualClock();
    const seen: number[] = [];
    const tick = () => {
      seen.push(c.now());
      c.setTimer(c.now() + 1000, tick); // a periodic timer never goes idle
    };
    c.setTimer(0, tick);
    expect(c.runUntilIdle({ maxTime: 3500 })).toBe(4);
    expect(seen).toEqual([0, 1000, 2000, 3000]);
    expect(c.now()).toBe(3500);
    expect(() => c.runUntilIdle({ maxSteps: 10 })).toThrow(/re-arms itself forever/);
  });

  it("goes idle at the last deadline when nothing bounds it", () => {
    const c = new VirtualClock();
    c.setTimer(120_000, () => {});
    expect(c.runUntilIdle()).toBe(1);
    expect(c.now()).toBe(120_000);
  });

  it("refuses to move backwards or to be advanced from inside a timer", () => {
    const c = new VirtualClock({ start: 10 });
    expect(() => c.runUntil(5)).toThrow(RangeError);
    expect(() => c.advance(-1)).toThrow(RangeError);
    let err: unknown;
    c.setTimer(11, () => {
      try {
        c.advance(1);
      } catch (e) {
        err = e;
      }
    });
    c.advance(5);
    expect(String(err)).toMatch(/inside a timer callback/);
  });

  it("orders any set of timers like a stable sort by deadline, with removals", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 200 }),
        (specs) => {
          const c = new VirtualClock();
          const log: number[] = [];
          const handles = specs.map(([at], i) => c.setTimer(at, () => log.push(i)));
          specs.forEach(([, cancel], i) => {
            if (cancel) c.clearTimer(handles[i]!);
          });
          c.runUntilIdle();
          const expected = specs
            .map(([at, cancel], i) => ({ at, cancel, i }))
            .filter((s) => !s.cancel)
            .sort((x, y) => x.at - y.at || x.i - y.i)
            .map((s) => s.i);
          expect(log).toEqual(expected);
        },
      ),
    );
  });
});
