// IPv4 addresses as unsigned 32-bit numbers: cheap to compare, to mask and to key a Map with.

/** An IPv4 address as an unsigned 32-bit integer (10.0.0.1 is 0x0a000001). */
export type Ipv4Address = number;

/** An address with its prefix length: the interface configuration `10.0.0.2/24`. */
export interface Ipv4Cidr {
  address: Ipv4Address;
  prefix: number;
}

/** 0.0.0.0. */
export const IPV4_ANY: Ipv4Address = 0;
/** 255.255.255.255, the limited broadcast address. */
export const IPV4_BROADCAST: Ipv4Address = 0xffffffff;

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses dotted-quad text (`10.0.0.1`); undefined for anything else (no octal, no short forms). */
export function parseIpv4(text: string): Ipv4Address | undefined {
  const m = DOTTED.exec(text.trim());
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    if (part.length > 1 && part[0] === "0") return undefined; // "010" is ambiguous (octal in inet_aton)
    const v = Number(part);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

/** Formats an address as dotted-quad text. */
export function formatIpv4(a: Ipv4Address): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** Parses `10.0.0.2/24` (a bare address means /32); undefined when malformed. */
export function parseCidr(text: string): Ipv4Cidr | undefined {
  const [addr, len, extra] = text.trim().split("/");
  if (extra !== undefined || addr === undefined) return undefined;
  const address = parseIpv4(addr);
  if (address === undefined) return undefined;
  if (len === undefined) return { address, prefix: 32 };
  if (!/^\d{1,2}$/.test(len) || Number(len) > 32) return undefined;
  return { address, prefix: Number(len) };
}

/** Formats `{ address, prefix }` as `10.0.0.2/24`. */
export function formatCidr(c: Ipv4Cidr): string {
  return `${formatIpv4(c.address)}/${c.prefix}`;
}

/** The netmask of a prefix length: 24 gives 0xffffff00. */
export function prefixMask(prefix: number): number {
  return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffff : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The network address of a CIDR (host bits cleared). */
export function networkAddress(c: Ipv4Cidr): Ipv4Address {
  return (c.address & prefixMask(c.prefix)) >>> 0;
}

/** The directed broadcast address of a CIDR (host bits set). */
export function broadcastAddress(c: Ipv4Cidr): Ipv4Address {
  return (c.address | ~prefixMask(c.prefix)) >>> 0;
}

/** True when `a` lies in the subnet of `c`. */
export function inSubnet(a: Ipv4Address, c: Ipv4Cidr): boolean {
  const m = prefixMask(c.prefix);
  return (a & m) >>> 0 === (c.address & m) >>> 0;
}

/** 224.0.0.0/4 (RFC 5771). */
export function isMulticastIpv4(a: Ipv4Address): boolean {
  return a >>> 28 === 0xe;
}

/** 127.0.0.0/8 (RFC 1122 §3.2.1.3(g)). */
export function isLoopbackIpv4(a: Ipv4Address): boolean {
  return a >>> 24 === 127;
}
