import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decodePcap } from "@userstack/pcap";
import { readFixture } from "@userstack/testkit";
import { DecodeError } from "@userstack/wire";
import { describe, expect, it } from "vitest";
import { describeFrame } from "./main.js";

describe("demo", () => {
  it("describes the kernel's SYN with its options", () => {
    const file = decodePcap(readFixture("tcp-session.pcap"));
    if (file instanceof DecodeError) throw new Error(String(file));
    const lines = describeFrame(file.records[0]!.data);
    expect(lines[1]).toContain("10.9.0.1 → 10.9.0.2");
    expect(lines[2]).toMatch(/52546 → 7777 {2}\[SYN\]/);
    expect(lines[3]).toBe("          options mss 1460 sackOK TS val 4234897411 ecr 0 nop wscale 10");
  });

  it("describes ARP", () => {
    const file = decodePcap(readFixture("arp-ping.pcap"));
    if (file instanceof DecodeError) throw new Error(String(file));
    expect(describeFrame(file.records[0]!.data)[1]).toBe(
      "ARP       who has 10.9.0.2? tell 10.9.0.1 (66:d9:aa:c2:02:d4)",
    );
  });

  const built = fileURLToPath(new URL("../dist/main.js", import.meta.url));
  it.skipIf(!existsSync(built))("runs as a program and refuses a missing file with exit code 2", () => {
    const out = execFileSync("node", [built], { encoding: "utf8" });
    expect(out).toContain("10 frames");
    expect(out).toContain('data "hello from b\\n"');
    let code = 0;
    try {
      execFileSync("node", [built, "/nonexistent.pcap"], { stdio: "pipe" });
    } catch (e) {
      code = (e as { status: number }).status;
    }
    expect(code).toBe(2);
  });
});
