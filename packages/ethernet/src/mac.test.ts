import { describe, expect, it } from "vitest";
import {
  BROADCAST_MAC,
  formatMac,
  isBroadcastMac,
  isMulticastMac,
  macEqual,
  macToNumber,
  parseMac,
  randomMac,
} from "./mac.js";

describe("MAC addresses", () => {
  it("parses and formats", () => {
    const m = parseMac("02:AB:cd:00:11:ff")!;
    expect(Array.from(m)).toEqual([2, 0xab, 0xcd, 0, 0x11, 0xff]);
    expect(formatMac(m)).toBe("02:ab:cd:00:11:ff");
    expect(formatMac(parseMac("02-00-00-00-00-01")!)).toBe("02:00:00:00:00:01");
    expect(parseMac("02:00:00:00:00")).toBeUndefined();
    expect(parseMac("02:00:00:00:00:0g")).toBeUndefined();
  });

  it("classifies group addresses", () => {
    expect(isBroadcastMac(BROADCAST_MAC)).toBe(true);
    expect(isMulticastMac(parseMac("01:00:5e:00:00:01")!)).toBe(true);
    expect(isMulticastMac(parseMac("02:00:5e:00:00:01")!)).toBe(false);
  });

  it("maps to distinct exact numbers", () => {
    expect(macToNumber(BROADCAST_MAC)).toBe(2 ** 48 - 1);
    expect(macToNumber(parseMac("00:00:00:00:00:01")!)).toBe(1);
    expect(macToNumber(parseMac("01:00:00:00:00:00")!)).toBe(2 ** 40);
    expect(macToNumber(parseMac("00:00:80:00:00:00")!)).toBe(2 ** 31);
  });

  it("makes locally administered unicast random addresses", () => {
    for (let i = 0; i < 50; i++) {
      const m = randomMac();
      expect(m[0]! & 0x03).toBe(0x02);
    }
    expect(macEqual(randomMac(), randomMac())).toBe(false);
  });
});
