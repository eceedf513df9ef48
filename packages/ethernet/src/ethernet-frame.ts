import { DecodeError, put16, u16 } from "@userstack/wire";
import { EtherType, MAX_8023_LENGTH } from "./ether-type.js";

// Ethernet II (RFC 894) layout; an IEEE 802.1Q tag inserts 4 bytes (TPID + TCI) before the type.
const F = { destination: 0, source: 6, type: 12, tci: 14, end: 14, tag: 4 } as const;

/** Ethernet II header length without a VLAN tag. */
export const ETHERNET_HEADER_LENGTH = 14;
/** Minimum frame length on the wire without FCS: shorter frames are padded with zeros to this. */
export const ETHERNET_MIN_FRAME = 60;
/** At most this many VLAN tags are followed (802.1ad S-tag + 802.1Q C-tag). */
const MAX_TAGS = 2;

/** An IEEE 802.1Q tag: 12-bit VLAN ID, 3-bit priority (PCP), drop-eligible indicator (DEI). */
export interface VlanTag {
  id: number;
  priority?: number;
  dropEligible?: boolean;
}

/** A plain Ethernet II header, for building frames. */
export interface EthernetHeader {
  destination: Uint8Array;
  source: Uint8Array;
  /** The EtherType of the payload (the inner type when tagged). */
  etherType: number;
  /** Adds one 802.1Q tag when present. */
  vlan?: VlanTag;
}

/**
 * A zero-copy view of a decoded Ethernet II frame. Made by {@link decodeEthernet}, so every getter
 * stays in bounds. The payload runs to the end of the frame: short frames are padded to 60 bytes,
 * and the inner protocol's own length field (IPv4 total length, ARP's fixed size) says where its
 * data ends.
 */
export class EthernetView {
  constructor(
    /** The whole frame. */
    public bytes: Uint8Array,
    /** 14, 18 or 22: where the payload starts. */
    public headerLength: number,
  ) {}

  /** Points this view at another frame: what {@link decodeEthernet} does with its `into` argument. */
  reset(bytes: Uint8Array, headerLength: number): this {
    this.bytes = bytes;
    this.headerLength = headerLength;
    return this;
  }

  /** Destination MAC, a view into the frame. */
  get destination(): Uint8Array {
    return this.bytes.subarray(F.destination, F.destination + 6);
  }
  /** Source MAC, a view into the frame. */
  get source(): Uint8Array {
    return this.bytes.subarray(F.source, F.source + 6);
  }
  /** The payload's EtherType (after any VLAN tags). */
  get etherType(): number {
    return u16(this.bytes, this.headerLength - 2);
  }
  /** True when the frame carries at least one VLAN tag. */
  get tagged(): boolean {
    return this.headerLength > F.end;
  }
  /** The innermost VLAN tag, or undefined for an untagged frame. */
  get vlan(): VlanTag | undefined {
    if (!this.tagged) return undefined;
    const tci = u16(this.bytes, this.headerLength - 4);
    return { id: tci & 0x0fff, priority: tci >>> 13, dropEligible: (tci & 0x1000) !== 0 };
  }
  /** The VLAN ID of the innermost tag, or -1 when untagged (no allocation, unlike {@link vlan}). */
  get vlanId(): number {
    return this.tagged ? u16(this.bytes, this.headerLength - 4) & 0x0fff : -1;
  }
  /** Everything after the header, padding included. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength);
  }
}

/**
 * Validates an Ethernet II frame (without FCS) and returns a view of it, or a {@link DecodeError}:
 * `truncated` when shorter than its header, `unsupported` for an IEEE 802.3 length-framed frame
 * (type/length ≤ 1500), which is not Ethernet II. Up to two VLAN tags (802.1ad + 802.1Q) are
 * recognised. Never throws. Passing a view as `into` reuses it instead of allocating one (it is
 * returned, pointed at this frame), as a receive loop that keeps nothing of the view should.
 */
export function decodeEthernet(bytes: Uint8Array, into?: EthernetView): EthernetView | DecodeError {
  // The untagged frame is the common case: one read of the type, tags and errors out of line.
  const type = bytes.length >= F.end ? (bytes[F.type]! << 8) | bytes[F.type + 1]! : 0;
  if (type <= MAX_8023_LENGTH || type === EtherType.Vlan || type === EtherType.QinQ)
    return decodeTagged(bytes, into);
  return into === undefined ? new EthernetView(bytes, F.end) : into.reset(bytes, F.end);
}

/** {@link decodeEthernet} for a tagged, short or 802.3 frame. */
function decodeTagged(bytes: Uint8Array, into: EthernetView | undefined): EthernetView | DecodeError {
  if (bytes.length < F.end) return new DecodeError("ethernet", "truncated", bytes.length);
  let typeAt: number = F.type;
  let type = u16(bytes, typeAt);
  for (let tags = 0; (type === EtherType.Vlan || type === EtherType.QinQ) && tags < MAX_TAGS; tags++) {
    typeAt += F.tag;
    if (bytes.length < typeAt + 2) return new DecodeError("ethernet", "truncated", bytes.length);
    type = u16(bytes, typeAt);
  }
  if (type <= MAX_8023_LENGTH)
    return new DecodeError("ethernet", "unsupported", typeAt, "802.3 length field");
  return into === undefined ? new EthernetView(bytes, typeAt + 2) : into.reset(bytes, typeAt + 2);
}

/** Header length {@link writeEthernetHeader} will write for `h`: 14, or 18 with a VLAN tag. */
export function ethernetHeaderLength(h: EthernetHeader): number {
  return h.vlan ? F.end + F.tag : F.end;
}

/**
 * Writes the header of `h` into `out` at `at` and returns the offset where the payload goes. The
 * hot path: the inner layers then write their headers and data in place after it. Throws a
 * RangeError when `out` has no room for the header at `at` (a caller bug, not received input).
 */
export function writeEthernetHeader(h: EthernetHeader, out: Uint8Array, at = 0): number {
  const hl = h.vlan ? F.end + F.tag : F.end;
  if (!(at >= 0 && out.length >= at + hl))
    throw new RangeError(
      `writeEthernetHeader: needs ${hl} bytes at offset ${at}, the buffer has ${out.length}`,
    );
  // Six bytes each: a loop costs less than the two views and copies `set(subarray)` would make.
  const d = h.destination;
  const s = h.source;
  for (let i = 0; i < 6; i++) {
    out[at + F.destination + i] = d[i]!;
    out[at + F.source + i] = s[i]!;
  }
  let typeAt = at + F.type;
  if (h.vlan) {
    const { id, priority = 0, dropEligible = false } = h.vlan;
    put16(out, typeAt, EtherType.Vlan);
    put16(out, typeAt + 2, ((priority & 7) << 13) | (dropEligible ? 0x1000 : 0) | (id & 0x0fff));
    typeAt += F.tag;
  }
  put16(out, typeAt, h.etherType);
  return typeAt + 2;
}

/**
 * Encodes a whole frame: header, then `payload`, then zero padding up to the 60-byte minimum when
 * `pad` is true (the default; a TAP device does not pad for us, a real NIC would). Writes into
 * `out` at `at` when given (it must be large enough), otherwise allocates. Returns the frame as a
 * view of the buffer.
 */
export function encodeEthernet(
  h: EthernetHeader,
  payload: Uint8Array = new Uint8Array(0),
  out?: Uint8Array,
  at = 0,
  pad = true,
): Uint8Array {
  const hl = ethernetHeaderLength(h);
  const len = Math.max(hl + payload.length, pad ? ETHERNET_MIN_FRAME : 0);
  const buf = out ?? new Uint8Array(at + len);
  if (buf.length < at + len)
    throw new RangeError(`encodeEthernet: buffer needs ${at + len} bytes, has ${buf.length}`);
  const p = writeEthernetHeader(h, buf, at);
  buf.set(payload, p);
  buf.fill(0, p + payload.length, at + len);
  return buf.subarray(at, at + len);
}
