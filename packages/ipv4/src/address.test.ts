import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  broadcastAddress,
  formatCidr,
  formatIpv4,
  inSubnet,
  isLoopbackIpv4,
  isMulticastIpv4,
  networkAddress,
  parseCidr,
  parseIpv4,
  prefixMask,
} from "./address.js";

describe("IPv4 addresses", () => {
  it("parses and formats dotted quads", () => {
    expect(parseIpv4("10.0.0.1")).toBe(0x0a000001);
    expect(parseIpv4("255.255.255.255")).toBe(0xffffffff);
    expect(formatIpv4(0xc0a80101)).toBe("192.168.1.1");
    for (const bad of ["256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "a.b.c.d", "", "1.2.3.-4"]) {
      expect(parseIpv4(bad), bad).toBeUndefined();
    }
  });

  it("round-trips every address", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (a) => parseIpv4(formatIpv4(a)) === a));
  });

  it("handles CIDR notation and subnet arithmetic", () => {
    const c = parseCidr("10.0.0.2/24")!;
    expect(c).toEqual({ address: 0x0a000002, prefix: 24 });
    expect(formatCidr(c)).toBe("10.0.0.2/24");
    expect(prefixMask(24)).toBe(0xffffff00);
    expect(prefixMask(0)).toBe(0);
    expect(prefixMask(32)).toBe(0xffffffff);
    expect(prefixMask(1)).toBe(0x80000000);
    expect(formatIpv4(networkAddress(c))).toBe("10.0.0.0");
    expect(formatIpv4(broadcastAddress(c))).toBe("10.0.0.255");
    expect(inSubnet(parseIpv4("10.0.0.200")!, c)).toBe(true);
    expect(inSubnet(parseIpv4("10.0.1.2")!, c)).toBe(false);
    expect(inSubnet(parseIpv4("8.8.8.8")!, { address: 0, prefix: 0 })).toBe(true);
    expect(parseCidr("10.0.0.1")).toEqual({ address: 0x0a000001, prefix: 32 });
    for (const bad of ["10.0.0.1/33", "10.0.0.1/", "10.0.0.1/2/3", "x/24", "10.0.0.1/-1"]) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });

  it("classifies special ranges", () => {
    expect(isMulticastIpv4(parseIpv4("224.0.0.1")!)).toBe(true);
    expect(isMulticastIpv4(parseIpv4("239.255.255.255")!)).toBe(true);
    expect(isMulticastIpv4(parseIpv4("240.0.0.1")!)).toBe(false);
    expect(isLoopbackIpv4(parseIpv4("127.1.2.3")!)).toBe(true);
  });
});
