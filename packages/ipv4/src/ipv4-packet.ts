import { DecodeError, put16, put32, u16, u32 } from "@userstack/wire";
import { onesComplementSum } from "./checksum.js";

// RFC 791 §3.1 header layout.
const F = {
  vihl: 0,
  tos: 1,
  length: 2,
  id: 4,
  flags: 6,
  ttl: 8,
  protocol: 9,
  checksum: 10,
  source: 12,
  destination: 16,
  end: 20,
} as const;

/** The length of an IPv4 header without options. */
export const IPV4_HEADER_LENGTH = 20;
/** The longest IPv4 header: IHL is 4 bits, so 15 words (RFC 791 §3.1). */
export const IPV4_MAX_HEADER_LENGTH = 60;
/** Options occupy at most 40 bytes. */
export const IPV4_MAX_OPTIONS_LENGTH = 40;
/** The largest datagram the 16-bit total length allows. */
export const IPV4_MAX_TOTAL_LENGTH = 0xffff;
/** The TTL Linux uses by default (net.ipv4.ip_default_ttl); RFC 1700 recommends 64. */
export const IPV4_DEFAULT_TTL = 64;

/** Flag bits in the 16-bit flags/fragment-offset word (RFC 791 §3.1 "Flags"). */
const RESERVED = 0x8000;
const DF = 0x4000;
const MF = 0x2000;
const OFFSET = 0x1fff;

/**
 * A plain IPv4 header for building datagrams. Addresses are unsigned 32-bit numbers.
 * Omitted fields take the values an ordinary host sends: DSCP/ECN 0, identification 0, no flags,
 * offset 0, TTL 64, no options.
 */
export interface Ipv4Header {
  /** Differentiated Services Code Point (RFC 2474), 6 bits. */
  dscp?: number;
  /** Explicit Congestion Notification (RFC 3168), 2 bits. */
  ecn?: number;
  /** The datagram's identification (RFC 791; RFC 6864 for atomic datagrams). */
  identification?: number;
  /** The reserved flag bit: must be zero (RFC 791); settable only to reproduce captured traffic. */
  reservedFlag?: boolean;
  /** Don't Fragment. */
  dontFragment?: boolean;
  /** More Fragments. */
  moreFragments?: boolean;
  /** Fragment offset in bytes (a multiple of 8, at most 65528); the wire carries it in 8-byte units. */
  fragmentOffset?: number;
  /** Time to live; 64 when omitted. */
  ttl?: number;
  /** {@link IpProtocol} or any 8-bit number. */
  protocol: number;
  source: number;
  destination: number;
  /** Raw option bytes, written as given and padded with zeros (End of Option List) to 4 bytes; at most 40. */
  options?: Uint8Array;
  /**
   * Bytes after the header. {@link writeIpv4Header} puts `header length + payloadLength` in the
   * total length field; {@link encodeIpv4} takes it from its payload argument instead.
   */
  payloadLength?: number;
}

/**
 * A zero-copy view of a validated IPv4 datagram, made by {@link decodeIpv4}: the datagram is
 * `data[start..end)`, so a frame can be decoded in place without a subarray for its payload.
 * It ends at the total length: Ethernet padding after the datagram is not part of it (RFC 791
 * §3.1 "Total Length"; smoltcp's `test_overlong`).
 */
export class Ipv4View {
  private whole: Uint8Array | undefined;

  constructor(
    /** The bytes the datagram sits in (a frame, or exactly the datagram). */
    public data: Uint8Array,
    /** Offset of the datagram's first byte in `data`. */
    public start = 0,
    /** Offset just after its last byte (start + total length). */
    public end: number = data.length,
  ) {}

  /** Points this view at another datagram: what {@link decodeIpv4} does with its `into` argument. */
  reset(data: Uint8Array, start: number, end: number): this {
    this.data = data;
    this.start = start;
    this.end = end;
    this.whole = undefined;
    return this;
  }

  /** The datagram: header, options and payload, `totalLength` bytes (a view, made on first use). */
  get bytes(): Uint8Array {
    if (this.whole === undefined)
      this.whole =
        this.start === 0 && this.end === this.data.length
          ? this.data
          : this.data.subarray(this.start, this.end);
    return this.whole;
  }
  /** Always 4 in a decoded view. */
  get version(): number {
    return this.data[this.start]! >>> 4;
  }
  /** Internet Header Length in 32-bit words (5..15). */
  get ihl(): number {
    return this.data[this.start]! & 0x0f;
  }
  /** Header length in bytes (20..60), options included. */
  get headerLength(): number {
    return (this.data[this.start]! & 0x0f) << 2;
  }
  /** Differentiated Services Code Point (RFC 2474): the top 6 bits of the former TOS octet. */
  get dscp(): number {
    return this.data[this.start + F.tos]! >>> 2;
  }
  /** Explicit Congestion Notification (RFC 3168): the low 2 bits of the former TOS octet. */
  get ecn(): number {
    return this.data[this.start + F.tos]! & 3;
  }
  /** Total length of the datagram in bytes, header included. */
  get totalLength(): number {
    return u16(this.data, this.start + F.length);
  }
  /** Identification (RFC 791; RFC 6864). */
  get identification(): number {
    return u16(this.data, this.start + F.id);
  }
  /** The reserved flag bit (must be zero per RFC 791; kept visible, not refused). */
  get reservedFlag(): boolean {
    return (this.data[this.start + F.flags]! & 0x80) !== 0;
  }
  /** Don't Fragment. */
  get dontFragment(): boolean {
    return (this.data[this.start + F.flags]! & 0x40) !== 0;
  }
  /** More Fragments. */
  get moreFragments(): boolean {
    return (this.data[this.start + F.flags]! & 0x20) !== 0;
  }
  /** Fragment offset in bytes (the wire field × 8). */
  get fragmentOffset(): number {
    return (u16(this.data, this.start + F.flags) & OFFSET) << 3;
  }
  /** True for any fragment: more fragments follow or the offset is not zero. */
  get isFragment(): boolean {
    return (u16(this.data, this.start + F.flags) & (MF | OFFSET)) !== 0;
  }
  /** Time to live. */
  get ttl(): number {
    return this.data[this.start + F.ttl]!;
  }
  /** The payload's protocol ({@link IpProtocol}). */
  get protocol(): number {
    return this.data[this.start + F.protocol]!;
  }
  /** The header checksum as carried (verified by {@link decodeIpv4}). */
  get checksum(): number {
    return u16(this.data, this.start + F.checksum);
  }
  /** Source address. */
  get source(): number {
    return u32(this.data, this.start + F.source);
  }
  /** Destination address. */
  get destination(): number {
    return u32(this.data, this.start + F.destination);
  }
  /** The header, options included, as a view. */
  get header(): Uint8Array {
    return this.data.subarray(this.start, this.start + this.headerLength);
  }
  /** The options as raw bytes (padding included), a view; empty without options. Parse with `parseIpv4Options`. */
  get options(): Uint8Array {
    return this.data.subarray(this.start + F.end, this.start + this.headerLength);
  }
  /** Offset of the payload in `data` (it runs to `end`): for decoders that take offsets, no view needed. */
  get payloadStart(): number {
    return this.start + this.headerLength;
  }
  /** The payload, a view ending at the total length. */
  get payload(): Uint8Array {
    return this.data.subarray(this.start + this.headerLength, this.end);
  }

  /** A plain header with a copy of the options, e.g. to change a field and encode again. */
  toHeader(): Ipv4Header {
    const h: Ipv4Header = {
      dscp: this.dscp,
      ecn: this.ecn,
      identification: this.identification,
      reservedFlag: this.reservedFlag,
      dontFragment: this.dontFragment,
      moreFragments: this.moreFragments,
      fragmentOffset: this.fragmentOffset,
      ttl: this.ttl,
      protocol: this.protocol,
      source: this.source,
      destination: this.destination,
      payloadLength: this.totalLength - this.headerLength,
    };
    if (this.headerLength > F.end) h.options = this.options.slice();
    return h;
  }
}

/**
 * The one's complement sum of a 20-byte header at `at`, folded: the common case (no options)
 * unrolled, since it runs for every datagram received and sent.
 */
function headerSum20(b: Uint8Array, at: number): number {
  const s =
    ((b[at]! << 8) | b[at + 1]!) +
    ((b[at + 2]! << 8) | b[at + 3]!) +
    ((b[at + 4]! << 8) | b[at + 5]!) +
    ((b[at + 6]! << 8) | b[at + 7]!) +
    ((b[at + 8]! << 8) | b[at + 9]!) +
    ((b[at + 10]! << 8) | b[at + 11]!) +
    ((b[at + 12]! << 8) | b[at + 13]!) +
    ((b[at + 14]! << 8) | b[at + 15]!) +
    ((b[at + 16]! << 8) | b[at + 17]!) +
    ((b[at + 18]! << 8) | b[at + 19]!);
  const f = (s & 0xffff) + (s >>> 16);
  return (f & 0xffff) + (f >>> 16);
}

/**
 * Validates the IPv4 datagram at `bytes[at..]` and returns a view of it, or a {@link DecodeError}
 * (never throws; offsets in it are relative to `at`):
 *
 * - `truncated`: fewer than 20 bytes, or fewer than the header or total length claim;
 * - `bad-version`: the version is not 4;
 * - `bad-length`: IHL below 5, or a total length shorter than the header;
 * - `bad-checksum`: the header checksum does not verify (RFC 791 §3.1, RFC 1122 §3.2.1.2: silently
 *   discard), unless `verifyChecksum` is false.
 *
 * Bytes after the total length (Ethernet padding) are excluded from the view. Options are not
 * interpreted here; `parseIpv4Options` validates them when a caller needs them. Decoding a frame
 * in place (`decodeIpv4(frame, true, eth.headerLength)`) saves the subarray of its payload; passing
 * a view as `into` reuses it instead of allocating one (it is returned, pointed at this datagram).
 */
export function decodeIpv4(
  bytes: Uint8Array,
  verifyChecksum = true,
  at = 0,
  into?: Ipv4View,
): Ipv4View | DecodeError {
  // Every check in one condition, the reason worked out only for refused input (ipv4Error): the
  // function stays small enough for the engine to inline into a receive loop.
  const n = bytes.length - at;
  const vihl = n >= F.end ? bytes[at]! : 0;
  const hl = (vihl & 0x0f) << 2;
  const total = n >= F.end ? (bytes[at + F.length]! << 8) | bytes[at + F.length + 1]! : 0;
  if (
    vihl >>> 4 !== 4 ||
    hl < F.end ||
    total < hl ||
    total > n ||
    (verifyChecksum &&
      (hl === F.end ? headerSum20(bytes, at) : onesComplementSum(bytes, at, at + hl)) !== 0xffff)
  )
    return ipv4Error(bytes, at);
  return into === undefined ? new Ipv4View(bytes, at, at + total) : into.reset(bytes, at, at + total);
}

/** Why {@link decodeIpv4} refused `bytes[at..]`, the checks in RFC order; the checksum is what is left. */
function ipv4Error(bytes: Uint8Array, at: number): DecodeError {
  const n = bytes.length - at;
  if (n < F.end) return new DecodeError("ipv4", "truncated", Math.max(0, n));
  const vihl = bytes[at]!;
  if (vihl >>> 4 !== 4) return new DecodeError("ipv4", "bad-version", F.vihl, `version ${vihl >>> 4}`);
  const hl = (vihl & 0x0f) << 2;
  if (hl < F.end) return new DecodeError("ipv4", "bad-length", F.vihl, `IHL ${vihl & 0x0f}`);
  if (hl > n) return new DecodeError("ipv4", "truncated", n, `header of ${hl} bytes`);
  const total = u16(bytes, at + F.length);
  if (total < hl)
    return new DecodeError("ipv4", "bad-length", F.length, `total length ${total} < header ${hl}`);
  if (total > n) return new DecodeError("ipv4", "truncated", n, `total length ${total}`);
  return new DecodeError("ipv4", "bad-checksum", F.checksum);
}

/** The header length {@link writeIpv4Header} writes for `h`: 20 plus the options padded to 4 bytes. */
export function ipv4HeaderLength(h: Ipv4Header): number {
  const o = h.options?.length ?? 0;
  return F.end + ((o + 3) & ~3);
}

/** The buffer length {@link encodeIpv4} needs for `h` and a payload of `payloadLength` bytes. */
export function ipv4BufferLength(h: Ipv4Header, payloadLength = h.payloadLength ?? 0): number {
  return ipv4HeaderLength(h) + payloadLength;
}

/**
 * Writes the header of `h` (options and their padding included) into `out` at `at`, with the total
 * length taken from `h.payloadLength` and the header checksum computed, and returns the offset where
 * the payload goes. Throws a RangeError for a header that cannot be encoded (a caller bug: options
 * over 40 bytes, an offset not a multiple of 8, a datagram over 65535 bytes, no room in `out`).
 */
export function writeIpv4Header(h: Ipv4Header, out: Uint8Array, at = 0): number {
  const hl = ipv4HeaderLength(h);
  const total = hl + (h.payloadLength ?? 0);
  const offset = h.fragmentOffset ?? 0;
  if (hl > IPV4_MAX_HEADER_LENGTH)
    throw new RangeError(`writeIpv4Header: ${h.options!.length} bytes of options, at most 40 fit`);
  if (total > IPV4_MAX_TOTAL_LENGTH)
    throw new RangeError(`writeIpv4Header: a ${total}-byte datagram exceeds 65535; fragment or send less`);
  if ((offset & 7) !== 0 || offset < 0 || offset > 0xfff8)
    throw new RangeError(`writeIpv4Header: fragment offset ${offset} must be a multiple of 8 up to 65528`);
  if (at < 0 || out.length < at + hl)
    throw new RangeError(`writeIpv4Header: needs ${hl} bytes at offset ${at}, the buffer has ${out.length}`);
  out[at + F.vihl] = 0x40 | (hl >>> 2);
  out[at + F.tos] = (((h.dscp ?? 0) & 0x3f) << 2) | ((h.ecn ?? 0) & 3);
  put16(out, at + F.length, total);
  put16(out, at + F.id, h.identification ?? 0);
  put16(
    out,
    at + F.flags,
    (h.reservedFlag ? RESERVED : 0) | (h.dontFragment ? DF : 0) | (h.moreFragments ? MF : 0) | (offset >>> 3),
  );
  out[at + F.ttl] = h.ttl ?? IPV4_DEFAULT_TTL;
  out[at + F.protocol] = h.protocol;
  put16(out, at + F.checksum, 0);
  put32(out, at + F.source, h.source);
  put32(out, at + F.destination, h.destination);
  if (h.options && h.options.length > 0) {
    out.set(h.options, at + F.end);
    // RFC 791 §3.1 "Padding": zeros up to a 32-bit boundary (0 is also End of Option List).
    out.fill(0, at + F.end + h.options.length, at + hl);
  }
  put16(
    out,
    at + F.checksum,
    ~(hl === F.end ? headerSum20(out, at) : onesComplementSum(out, at, at + hl)) & 0xffff,
  );
  return at + hl;
}

/**
 * Encodes a whole datagram: the header of `h` (total length from `payload.length`), then
 * `payload`. Writes into `out` at `at` when given, otherwise allocates. Returns the datagram as a
 * view of the buffer.
 */
export function encodeIpv4(
  h: Ipv4Header,
  payload: Uint8Array = new Uint8Array(0),
  out?: Uint8Array,
  at = 0,
): Uint8Array {
  const len = ipv4HeaderLength(h) + payload.length;
  const buf = out ?? new Uint8Array(at + len);
  if (buf.length < at + len)
    throw new RangeError(`encodeIpv4: buffer needs ${at + len} bytes, has ${buf.length}`);
  const p = writeIpv4Header(
    h.payloadLength === payload.length ? h : { ...h, payloadLength: payload.length },
    buf,
    at,
  );
  buf.set(payload, p);
  return buf.subarray(at, at + len);
}
