import { fillRandom, u32 } from "@userstack/wire";

/** A MAC (EUI-48) address: 6 bytes, often a zero-copy view into a frame. */
export type MacAddress = Uint8Array;

/** ff:ff:ff:ff:ff:ff. Treat as read-only. */
export const BROADCAST_MAC: MacAddress = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

/** 00:00:00:00:00:00, as ARP requests carry in the target hardware address. Treat as read-only. */
export const ZERO_MAC: MacAddress = new Uint8Array(6);

/** Parses `aa:bb:cc:dd:ee:ff` (or `-` separated); returns undefined for anything else. */
export function parseMac(text: string): MacAddress | undefined {
  const m =
    /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(
      text.trim(),
    );
  if (!m) return undefined;
  return Uint8Array.from(m.slice(1, 7), (h) => Number.parseInt(h, 16));
}

/** Formats 6 bytes at `at` as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(mac: Uint8Array, at = 0): string {
  let s = "";
  for (let i = 0; i < 6; i++) {
    if (i) s += ":";
    s += mac[at + i]!.toString(16).padStart(2, "0");
  }
  return s;
}

/** The 48-bit address as a number (exact in a double): a cheap Map key for MAC tables. */
export function macToNumber(mac: Uint8Array, at = 0): number {
  return ((mac[at]! << 8) | mac[at + 1]!) * 2 ** 32 + u32(mac, at + 2);
}

/** True when the 6 bytes at `a[ai]` and `b[bi]` are equal. */
export function macEqual(a: Uint8Array, b: Uint8Array, ai = 0, bi = 0): boolean {
  for (let i = 0; i < 6; i++) if (a[ai + i] !== b[bi + i]) return false;
  return true;
}

/** Group bit set (the I/G bit, low bit of the first octet): multicast or broadcast. */
export function isMulticastMac(mac: Uint8Array, at = 0): boolean {
  return (mac[at]! & 1) === 1;
}

/** True for ff:ff:ff:ff:ff:ff. */
export function isBroadcastMac(mac: Uint8Array, at = 0): boolean {
  return macEqual(mac, BROADCAST_MAC, at, 0);
}

/**
 * A random locally administered unicast address (02:xx:…): the U/L bit set, the I/G bit clear,
 * so it cannot collide with a vendor-assigned MAC. `random` fills bytes (default: the platform CSPRNG).
 */
export function randomMac(random: (b: Uint8Array) => void = fillRandom): MacAddress {
  const mac = new Uint8Array(6);
  random(mac);
  mac[0] = (mac[0]! & 0xfc) | 0x02;
  return mac;
}
