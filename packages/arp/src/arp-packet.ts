import type { MacAddress } from "@userstack/ethernet";
import { DecodeError, put16, put32, u16, u32 } from "@userstack/wire";

// RFC 826 packet layout for Ethernet (ar$hrd = 1) carrying IPv4 (ar$pro = 0x0800): 6-byte hardware
// addresses, 4-byte protocol addresses, so the packet is always 28 bytes.
const F = {
  htype: 0,
  ptype: 2,
  hlen: 4,
  plen: 5,
  op: 6,
  sha: 8,
  spa: 14,
  tha: 18,
  tpa: 24,
  end: 28,
} as const;

/** ar$hrd for Ethernet (RFC 826; IANA "Hardware Types"). */
export const ARP_HTYPE_ETHERNET = 1;
/** ar$pro for IPv4: the EtherType of the protocol (RFC 826). */
export const ARP_PTYPE_IPV4 = 0x0800;
/** The length of an Ethernet/IPv4 ARP packet; frames may carry more (Ethernet padding). */
export const ARP_PACKET_LENGTH = F.end;

/** ARP operation codes (RFC 826 ar$op; RFC 5494 for the registry). Unknown codes stay plain numbers. */
export const ArpOp = { Request: 1, Reply: 2 } as const;
export type ArpOp = (typeof ArpOp)[keyof typeof ArpOp];

/** A plain ARP header for building packets. Addresses: MACs as 6 bytes, IPv4 as unsigned 32-bit numbers. */
export interface ArpHeader {
  /** {@link ArpOp} or any other 16-bit code. */
  op: number;
  senderMac: MacAddress;
  senderIp: number;
  targetMac: MacAddress;
  targetIp: number;
}

/**
 * A zero-copy view of an Ethernet/IPv4 ARP packet. Made by {@link decodeArp}, so every getter stays in
 * bounds; `bytes` is exactly the 28 bytes of the packet (any Ethernet padding is not part of it).
 * MAC getters return subarray views into the caller's bytes: copy them to keep them.
 */
export class ArpView {
  constructor(readonly bytes: Uint8Array) {}

  /** ar$hrd: always 1 (Ethernet) in a decoded view. */
  get hardwareType(): number {
    return u16(this.bytes, F.htype);
  }
  /** ar$pro: always 0x0800 (IPv4) in a decoded view. */
  get protocolType(): number {
    return u16(this.bytes, F.ptype);
  }
  /** ar$hln: always 6. */
  get hardwareLength(): number {
    return this.bytes[F.hlen]!;
  }
  /** ar$pln: always 4. */
  get protocolLength(): number {
    return this.bytes[F.plen]!;
  }
  /** ar$op: 1 request, 2 reply; other values are returned as they are. */
  get op(): number {
    return u16(this.bytes, F.op);
  }
  /** ar$sha, a view. */
  get senderMac(): MacAddress {
    return this.bytes.subarray(F.sha, F.spa);
  }
  /** ar$spa. */
  get senderIp(): number {
    return u32(this.bytes, F.spa);
  }
  /** ar$tha, a view (all zeros in a request sent by Linux). */
  get targetMac(): MacAddress {
    return this.bytes.subarray(F.tha, F.tpa);
  }
  /** ar$tpa. */
  get targetIp(): number {
    return u32(this.bytes, F.tpa);
  }

  /** A plain header with copies of the addresses, e.g. to change a field and encode again. */
  toHeader(): ArpHeader {
    return {
      op: this.op,
      senderMac: this.senderMac.slice(),
      senderIp: this.senderIp,
      targetMac: this.targetMac.slice(),
      targetIp: this.targetIp,
    };
  }
}

/**
 * Validates an ARP packet (the payload of an Ethernet frame of type 0x0806) and returns a view of
 * its 28 bytes, or a {@link DecodeError}: `truncated` when shorter than 28 bytes, `unsupported`
 * for anything but Ethernet/IPv4 (ar$hrd 1, ar$pro 0x0800, ar$hln 6, ar$pln 4). Longer input is
 * accepted: minimum-size Ethernet frames pad ARP to 46 bytes. Never throws.
 */
export function decodeArp(bytes: Uint8Array): ArpView | DecodeError {
  if (bytes.length < F.end) return new DecodeError("arp", "truncated", bytes.length);
  if (u16(bytes, F.htype) !== ARP_HTYPE_ETHERNET)
    return new DecodeError("arp", "unsupported", F.htype, `hardware type ${u16(bytes, F.htype)}`);
  if (u16(bytes, F.ptype) !== ARP_PTYPE_IPV4)
    return new DecodeError(
      "arp",
      "unsupported",
      F.ptype,
      `protocol type 0x${u16(bytes, F.ptype).toString(16)}`,
    );
  if (bytes[F.hlen] !== 6)
    return new DecodeError("arp", "bad-length", F.hlen, `hardware length ${bytes[F.hlen]}`);
  if (bytes[F.plen] !== 4)
    return new DecodeError("arp", "bad-length", F.plen, `protocol length ${bytes[F.plen]}`);
  return new ArpView(bytes.length === F.end ? bytes : bytes.subarray(0, F.end));
}

/** Bytes {@link writeArp} writes: always 28 for Ethernet/IPv4. */
export function arpBufferLength(_h?: ArpHeader): number {
  return F.end;
}

/**
 * Writes the 28-byte packet of `h` into `out` at `at` and returns the offset after it. Throws a
 * RangeError when `out` has no room (a caller bug, not input): size buffers with {@link arpBufferLength}.
 */
export function writeArp(h: ArpHeader, out: Uint8Array, at = 0): number {
  if (at < 0 || out.length < at + F.end)
    throw new RangeError(`writeArp: needs ${F.end} bytes at offset ${at}, the buffer has ${out.length}`);
  if (h.senderMac.length < 6 || h.targetMac.length < 6)
    throw new RangeError(
      "writeArp: senderMac and targetMac must be 6 bytes (use ZERO_MAC for an unknown target)",
    );
  put16(out, at + F.htype, ARP_HTYPE_ETHERNET);
  put16(out, at + F.ptype, ARP_PTYPE_IPV4);
  out[at + F.hlen] = 6;
  out[at + F.plen] = 4;
  put16(out, at + F.op, h.op);
  // Six bytes by hand: subarray + set cost more than the whole rest of the packet.
  const s = h.senderMac;
  const t = h.targetMac;
  for (let i = 0; i < 6; i++) {
    out[at + F.sha + i] = s[i]!;
    out[at + F.tha + i] = t[i]!;
  }
  put32(out, at + F.spa, h.senderIp);
  put32(out, at + F.tpa, h.targetIp);
  return at + F.end;
}

/**
 * Encodes `h` into `out` at `at` when given (allocating 28 bytes otherwise) and returns the packet
 * as a view of that buffer.
 */
export function encodeArp(h: ArpHeader, out?: Uint8Array, at = 0): Uint8Array {
  const buf = out ?? new Uint8Array(at + F.end);
  const end = writeArp(h, buf, at);
  return buf.subarray(at, end);
}
