import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { bench, hasTool, missing, readFixture, withNetns } from "./index.js";

describe("requirements", () => {
  it("finds tools that exist and not ones that do not", () => {
    expect(hasTool("sh")).toBe(true);
    expect(hasTool("no-such-tool-userstack")).toBe(false);
    expect(missing({ tools: ["sh"] })).toBeUndefined();
  });
});

describe("fixtures", () => {
  it("reads a capture fixture", () => {
    const b = readFixture("arp-ping.pcap");
    expect(b.length).toBeGreaterThan(24);
    expect(Array.from(b.subarray(0, 4))).toEqual([0xd4, 0xc3, 0xb2, 0xa1]); // tcpdump: little-endian µs
  });
});

describe("bench", () => {
  it("measures a positive time per operation", () => {
    let x = 0;
    const r = bench("add", () => x++, { minMs: 20, warmupMs: 5 });
    expect(r.ops).toBeGreaterThan(0);
    expect(r.nsPerOp).toBeGreaterThan(0);
  });
});

const skip = missing({ root: true, tools: ["ip"] });
describe.skipIf(skip)("network namespaces", () => {
  it("creates a namespace, runs inside it, and deletes it even when the body throws", async () => {
    let name = "";
    await expect(
      withNetns("us-testkit", async (ns) => {
        name = ns.name;
        const links = await ns.exec("ip", ["-o", "link"]);
        expect(links).toMatch(/\blo\b.*UP/);
        expect(links).not.toMatch(/eth0/);
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toContain(name);
  });
});
