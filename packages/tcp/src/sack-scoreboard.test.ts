import { describe, expect, it } from "vitest";
import { SackScoreboard } from "./sack-scoreboard.js";

describe("SackScoreboard (RFC 6675)", () => {
  it("merges blocks, counts SACKed bytes, finds holes, prunes on cumulative ACK", () => {
    const s = new SackScoreboard(4);
    const una = 0xfffffff0; // across the 2^32 wrap
    const nxt = (una + 100) >>> 0;
    expect(s.add((una + 20) >>> 0, (una + 30) >>> 0, una, nxt)).toBe(10);
    expect(s.add((una + 50) >>> 0, (una + 60) >>> 0, una, nxt)).toBe(10);
    expect(s.add((una + 25) >>> 0, (una + 55) >>> 0, una, nxt)).toBe(20); // bridges both
    expect(s.count).toBe(1);
    expect(s.sacked).toBe(40);
    expect(s.nextHole(una)).toBe(una);
    expect(s.holeLength).toBe(20);
    expect(s.nextHole((una + 20) >>> 0)).toBe(-1); // nothing SACKed above the block
    expect(s.holeBytesFrom(una)).toBe(20);
    expect(s.highest(una)).toBe((una + 60) >>> 0);
    s.pruneBelow((una + 40) >>> 0);
    expect(s.sacked).toBe(20);
    s.pruneBelow((una + 70) >>> 0);
    expect(s.count).toBe(0);
    expect(s.sacked).toBe(0);
  });
  it("ignores blocks outside SND.UNA..SND.NXT (forged or D-SACK)", () => {
    const s = new SackScoreboard();
    expect(s.add(200, 300, 100, 250)).toBe(0);
    expect(s.add(50, 90, 100, 250)).toBe(0);
    expect(s.add(120, 110, 100, 250)).toBe(0);
    expect(s.count).toBe(0);
  });
});
