import { onesComplementSum, pseudoHeaderSum, sumWithPseudoHeader } from "@userstack/ipv4";
import { DecodeError, put16, put32, u16, u32 } from "@userstack/wire";
import { listTcpOptions, type TcpOption, tcpOptionsLength, writeTcpOptions } from "./tcp-option.js";

// RFC 9293 §3.1 header layout.
const F = {
  sourcePort: 0,
  destinationPort: 2,
  seq: 4,
  ack: 8,
  offset: 12,
  flags: 13,
  window: 14,
  checksum: 16,
  urgent: 18,
  end: 20,
} as const;

/** Length of a TCP header without options. */
export const TCP_HEADER_LENGTH = 20;
/** Longest TCP header: data offset 15 words. */
export const TCP_MAX_HEADER_LENGTH = 60;
/** IP protocol number of TCP. */
export const TCP_PROTOCOL = 6;

/** The control bits (RFC 9293 §3.1, RFC 3168 §6.1 for ECE/CWR). NS (RFC 3540) is historic. */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** A plain TCP header, for building segments. `flags` is a bitmask of {@link TcpFlag}. */
export interface TcpHeader {
  sourcePort: number;
  destinationPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** Urgent pointer; 0 when absent. */
  urgentPointer?: number;
  /** Options in wire order; padded with zeros to a 32-bit boundary when written. */
  options?: readonly TcpOption[];
  /**
   * The options already encoded, e.g. once per connection (`writeTcpOptions`) or as the engine's
   * `TcpSegmentHeader` keeps them: `optionBytes[0..optionLength)` is copied as it is and padded
   * with zeros to a 32-bit boundary. When present, {@link options} is not read.
   */
  optionBytes?: Uint8Array;
  /** Bytes of {@link optionBytes} in use; all of it when omitted. */
  optionLength?: number;
}

/**
 * A zero-copy view of a decoded TCP segment, made by {@link decodeTcp} or {@link decodeTcpAt}:
 * every getter stays in bounds, and the options were validated and parsed into plain fields at
 * decode time so that the engine reads them without allocating (`-1` / `false` when the option is
 * absent). The segment is `data[start..end)`: decoded in place inside its datagram or frame, it
 * needs no view of its own ({@link bytes} makes one on first use).
 */
export class TcpView {
  /** MSS option value, or -1 when absent. */
  mss = -1;
  /** Window scale shift as sent (may exceed 14; RFC 7323 §2.3 says use 14), or -1 when absent. */
  windowScale = -1;
  /** True when the SACK-permitted option is present. */
  sackPermitted = false;
  /** True when the timestamps option is present. */
  hasTimestamps = false;
  /** TSval when {@link hasTimestamps}. */
  tsVal = 0;
  /** TSecr when {@link hasTimestamps}. */
  tsEcr = 0;
  /** Number of SACK blocks (0–4); read them with {@link sackLeft}/{@link sackRight}. */
  sackCount = 0;
  /** Offset of the first SACK block in {@link bytes} (from the segment's first byte). */
  sackAt = 0;
  /** True when an option of a kind this codec does not interpret is present. */
  hasUnknownOptions = false;
  /** The segment as its own view, once {@link bytes} made it. */
  private whole: Uint8Array | undefined = undefined;

  constructor(
    /** The bytes the segment sits in: exactly the segment, or the datagram or frame around it. */
    public data: Uint8Array,
    /** Data offset × 4: where the payload starts, counted from the segment's first byte. */
    public headerLength: number,
    /** Offset of the segment's first byte in {@link data}. */
    public start = 0,
    /** Offset just after its last byte in {@link data} (where the IP payload ends). */
    public end: number = data.length,
  ) {}

  /** The segment: header and payload, `data[start..end)` (a view, made on first use when it is a part of `data`). */
  get bytes(): Uint8Array {
    if (this.whole === undefined)
      this.whole =
        this.start === 0 && this.end === this.data.length
          ? this.data
          : this.data.subarray(this.start, this.end);
    return this.whole;
  }
  /**
   * Points this view at the segment `data[start..end)` whose header is `headerLength` bytes, with
   * every option field cleared: what {@link decodeTcpAt} does with its `into` before parsing the
   * options. Returns the view.
   */
  reset(data: Uint8Array, start: number, end: number, headerLength: number): this {
    this.data = data;
    this.start = start;
    this.end = end;
    this.headerLength = headerLength;
    this.whole = undefined;
    this.mss = -1;
    this.windowScale = -1;
    this.sackPermitted = false;
    this.hasTimestamps = false;
    this.tsVal = 0;
    this.tsEcr = 0;
    this.sackCount = 0;
    this.sackAt = 0;
    this.hasUnknownOptions = false;
    return this;
  }

  /** Points the view at exactly `b` (header length and parsed options unchanged). */
  set bytes(b: Uint8Array) {
    this.data = b;
    this.start = 0;
    this.end = b.length;
    this.whole = b;
  }

  get sourcePort(): number {
    return u16(this.data, this.start + F.sourcePort);
  }
  get destinationPort(): number {
    return u16(this.data, this.start + F.destinationPort);
  }
  /** Sequence number. */
  get seq(): number {
    return u32(this.data, this.start + F.seq);
  }
  /** Acknowledgment number (meaningful when ACK is set). */
  get ack(): number {
    return u32(this.data, this.start + F.ack);
  }
  /** Data offset in 32-bit words. */
  get dataOffset(): number {
    return this.data[this.start + F.offset]! >>> 4;
  }
  /** The four reserved bits after the data offset (RFC 9293 §3.1; bit 0 was NS). */
  get reserved(): number {
    return this.data[this.start + F.offset]! & 0x0f;
  }
  /** The eight control bits, a bitmask of {@link TcpFlag}. */
  get flags(): number {
    return this.data[this.start + F.flags]!;
  }
  get fin(): boolean {
    return (this.data[this.start + F.flags]! & TcpFlag.FIN) !== 0;
  }
  get syn(): boolean {
    return (this.data[this.start + F.flags]! & TcpFlag.SYN) !== 0;
  }
  get rst(): boolean {
    return (this.data[this.start + F.flags]! & TcpFlag.RST) !== 0;
  }
  get psh(): boolean {
    return (this.data[this.start + F.flags]! & TcpFlag.PSH) !== 0;
  }
  get ackFlag(): boolean {
    return (this.data[this.start + F.flags]! & TcpFlag.ACK) !== 0;
  }
  get urg(): boolean {
    return (this.data[this.start + F.flags]! & TcpFlag.URG) !== 0;
  }
  get ece(): boolean {
    return (this.data[this.start + F.flags]! & TcpFlag.ECE) !== 0;
  }
  get cwr(): boolean {
    return (this.data[this.start + F.flags]! & TcpFlag.CWR) !== 0;
  }
  /** Window field as sent, not scaled. */
  get window(): number {
    return u16(this.data, this.start + F.window);
  }
  get checksum(): number {
    return u16(this.data, this.start + F.checksum);
  }
  get urgentPointer(): number {
    return u16(this.data, this.start + F.urgent);
  }
  /** The raw option bytes, padding included (a view). */
  get optionBytes(): Uint8Array {
    return this.data.subarray(this.start + F.end, this.start + this.headerLength);
  }
  /** Options in wire order (allocates: for tools and tests, not the hot path). */
  get options(): TcpOption[] {
    return listTcpOptions(this.data, this.start + F.end, this.start + this.headerLength);
  }
  /** Left edge of SACK block `i` (< {@link sackCount}). */
  sackLeft(i: number): number {
    return u32(this.data, this.start + this.sackAt + 8 * i);
  }
  /** Right edge (first sequence number after the block) of SACK block `i`. */
  sackRight(i: number): number {
    return u32(this.data, this.start + this.sackAt + 8 * i + 4);
  }
  /** Offset of the payload in {@link data} (it runs to {@link end}): read it in place, no view needed. */
  get payloadStart(): number {
    return this.start + this.headerLength;
  }
  /** The data after the header (a view). */
  get payload(): Uint8Array {
    return this.data.subarray(this.start + this.headerLength, this.end);
  }
  /** Payload length. */
  get payloadLength(): number {
    return this.end - this.start - this.headerLength;
  }
  /** Sequence space the segment occupies: payload plus one each for SYN and FIN (RFC 9293 §3.4). */
  get segmentLength(): number {
    const f = this.data[this.start + F.flags]!;
    return this.end - this.start - this.headerLength + (f & TcpFlag.SYN ? 1 : 0) + (f & TcpFlag.FIN ? 1 : 0);
  }
}

/** The error for a bad checksum, shared: corrupted traffic costs no allocation (its fields are read-only). */
const BAD_CHECKSUM = new DecodeError("tcp", "bad-checksum", F.checksum);

/**
 * Validates a TCP segment (header, options, and — when the IPv4 addresses are given — the
 * checksum over the pseudo-header) and returns a view of it, or a {@link DecodeError}: `truncated`
 * when shorter than 20 bytes or than its data offset, `bad-length` for a data offset below 5,
 * `bad-option` for an option whose length is below 2, runs past the header, or is wrong for its
 * kind, `bad-checksum` when the checksum does not verify. `bytes` must end where the IP payload
 * ends. Never throws.
 *
 * `into` reuses a view instead of allocating one: a receive loop should decode every segment
 * into the same view (the engine keeps nothing of it after `input` returns). With it, decoding a
 * valid segment allocates nothing, and neither does a bad checksum (a shared error); other
 * malformed input returns a new {@link DecodeError}. After an error `into` holds nothing valid.
 * {@link decodeTcpAt} does the same for a segment inside a larger buffer.
 */
export function decodeTcp(
  bytes: Uint8Array,
  source?: number,
  destination?: number,
  into?: TcpView,
): TcpView | DecodeError {
  return decodeTcpAt(bytes, 0, bytes.length, source, destination, into);
}

/**
 * {@link decodeTcp} for the segment `data[start..end)`, decoded in place: the receive path passes
 * the datagram and the IPv4 view's bounds, and no view of the segment is made.
 *
 * ```ts
 * const ip = decodeIpv4(frame, true, eth.headerLength, ipView);
 * if (ip instanceof DecodeError) return;
 * const seg = decodeTcpAt(frame, ip.payloadStart, ip.end, ip.source, ip.destination, tcpView);
 * ```
 *
 * Offsets in a returned {@link DecodeError} count from `start`. Throws nothing, whatever the bounds:
 * `start` past `end` or `end` past the buffer decode as truncated.
 */
export function decodeTcpAt(
  data: Uint8Array,
  start: number,
  end: number,
  source?: number,
  destination?: number,
  into?: TcpView,
): TcpView | DecodeError {
  // The checks in one condition, the reason worked out only for refused input (tcpError): the
  // function stays small enough for the engine to inline into a receive loop.
  const len = Math.min(end, data.length) - start;
  const hl = start >= 0 && len >= F.end ? (data[start + F.offset]! >>> 4) << 2 : 0;
  if (hl < F.end || hl > len) return tcpError(data, start, len);
  if (
    source !== undefined &&
    destination !== undefined &&
    sumWithPseudoHeader(data, start, start + len, source, destination, TCP_PROTOCOL) !== 0xffff
  )
    return BAD_CHECKSUM;
  const view =
    into === undefined ? new TcpView(data, hl, start, start + len) : into.reset(data, start, start + len, hl);
  return hl === F.end ? view : parseOptions(view, data, start, start + hl);
}

/** Why {@link decodeTcpAt} refused the `len` bytes at `data[start]` before looking at the checksum. */
function tcpError(data: Uint8Array, start: number, len: number): DecodeError {
  if (!(start >= 0 && len >= F.end)) return new DecodeError("tcp", "truncated", Math.max(len || 0, 0));
  const hl = (data[start + F.offset]! >>> 4) << 2;
  if (hl < F.end) return new DecodeError("tcp", "bad-length", F.offset, `data offset ${hl >>> 2}`);
  return new DecodeError("tcp", "truncated", len, `data offset ${hl >>> 2}`);
}

// RFC 9293 §3.1 option layout: kinds 0 and 1 are one byte; others carry a length byte counting
// kind and length. Known kinds must have their defined length (RFC 9293 §3.7.1, RFC 7323 §2.2,
// §3.2, RFC 2018 §2, §3); unknown kinds are kept (skipped by their length, flagged). `p` and `end`
// index `b`; error offsets count from the segment's first byte, `s`.
function parseOptions(view: TcpView, b: Uint8Array, s: number, end: number): TcpView | DecodeError {
  let p = s + F.end;
  // RFC 7323 Appendix A's layout, which Linux sends on every segment after the handshake: NOP,
  // NOP, timestamps, nothing else. One comparison instead of the loop.
  if (end - p === 12 && b[p] === 1 && b[p + 1] === 1 && b[p + 2] === 8 && b[p + 3] === 10) {
    view.hasTimestamps = true;
    view.tsVal = u32(b, p + 4);
    view.tsEcr = u32(b, p + 8);
    return view;
  }
  while (p < end) {
    const kind = b[p]!;
    if (kind === 1) {
      p++;
      continue;
    }
    if (kind === 0) break;
    if (p + 1 >= end) return new DecodeError("tcp", "bad-option", p - s, `kind ${kind} without length`);
    const ol = b[p + 1]!;
    if (ol < 2 || p + ol > end)
      return new DecodeError("tcp", "bad-option", p + 1 - s, `kind ${kind} length ${ol}`);
    switch (kind) {
      case 2:
        if (ol !== 4) return new DecodeError("tcp", "bad-option", p + 1 - s, `mss length ${ol}`);
        view.mss = (b[p + 2]! << 8) | b[p + 3]!;
        break;
      case 3:
        if (ol !== 3) return new DecodeError("tcp", "bad-option", p + 1 - s, `window scale length ${ol}`);
        view.windowScale = b[p + 2]!;
        break;
      case 4:
        if (ol !== 2) return new DecodeError("tcp", "bad-option", p + 1 - s, `sack-permitted length ${ol}`);
        view.sackPermitted = true;
        break;
      case 5:
        if (ol < 10 || ((ol - 2) & 7) !== 0)
          return new DecodeError("tcp", "bad-option", p + 1 - s, `sack length ${ol}`);
        view.sackCount = (ol - 2) >>> 3;
        view.sackAt = p + 2 - s;
        break;
      case 8:
        if (ol !== 10) return new DecodeError("tcp", "bad-option", p + 1 - s, `timestamps length ${ol}`);
        view.hasTimestamps = true;
        view.tsVal = u32(b, p + 2);
        view.tsEcr = u32(b, p + 6);
        break;
      default:
        view.hasUnknownOptions = true;
    }
    p += ol;
  }
  return view;
}

/** Header length {@link writeTcpHeader} writes for `h`: 20 plus the padded options. */
export function tcpHeaderLength(h: TcpHeader): number {
  if (h.optionBytes !== undefined) return F.end + (((h.optionLength ?? h.optionBytes.length) + 3) & ~3);
  return F.end + tcpOptionsLength(h.options);
}

/**
 * Writes the header of `h` (checksum field zero) into `out` at `at`; returns the payload offset.
 * Compute the checksum once the payload is in place with {@link writeTcpChecksum}. Throws a
 * RangeError when the options exceed 40 bytes — a caller bug, not received input.
 */
export function writeTcpHeader(h: TcpHeader, out: Uint8Array, at = 0): number {
  let end = at + F.end;
  const ob = h.optionBytes;
  if (ob !== undefined) {
    const n = h.optionLength ?? ob.length;
    if (n > TCP_MAX_HEADER_LENGTH - F.end)
      throw new RangeError(`writeTcpHeader: options take ${n} bytes, at most 40 fit`);
    // At most 40 bytes: a loop beats setting up a typed-array copy. RFC 9293 §3.1: zero padding.
    for (let i = 0; i < n; i++) out[end + i] = ob[i]!;
    end += n;
    while ((end - at) & 3) out[end++] = 0;
  } else if (h.options !== undefined && h.options.length > 0) {
    end = writeTcpOptions(h.options, out, end);
    if (end - at > TCP_MAX_HEADER_LENGTH)
      throw new RangeError(`writeTcpHeader: options take ${end - at - F.end} bytes, at most 40 fit`);
  }
  put16(out, at + F.sourcePort, h.sourcePort);
  put16(out, at + F.destinationPort, h.destinationPort);
  put32(out, at + F.seq, h.seq);
  put32(out, at + F.ack, h.ack);
  out[at + F.offset] = ((end - at) >>> 2) << 4;
  out[at + F.flags] = h.flags;
  put16(out, at + F.window, h.window);
  put16(out, at + F.checksum, 0);
  put16(out, at + F.urgent, h.urgentPointer ?? 0);
  return end;
}

/** The checksum `segment` should carry (its own checksum field is skipped, as if zero). */
export function tcpChecksum(segment: Uint8Array, source: number, destination: number): number {
  const len = segment.length;
  const head = onesComplementSum(
    segment,
    0,
    F.checksum,
    pseudoHeaderSum(source, destination, TCP_PROTOCOL, len),
  );
  return ~onesComplementSum(segment, F.checksum + 2, len, head) & 0xffff;
}

/** Computes and stores the checksum of `segment` (header with payload in place). */
export function writeTcpChecksum(segment: Uint8Array, source: number, destination: number): void {
  put16(segment, F.checksum, tcpChecksum(segment, source, destination));
}

/** True when the checksum of `segment` verifies against the IPv4 pseudo-header. */
export function verifyTcpChecksum(segment: Uint8Array, source: number, destination: number): boolean {
  return sumWithPseudoHeader(segment, 0, segment.length, source, destination, TCP_PROTOCOL) === 0xffff;
}

const EMPTY = new Uint8Array(0);

/**
 * Encodes a whole segment: header, `payload`, and the checksum when both IPv4 addresses are
 * given. Writes into `out` at `at` when given (a RangeError when too small: a caller bug),
 * otherwise allocates. Returns the segment as a view of the buffer.
 */
export function encodeTcp(
  h: TcpHeader,
  payload: Uint8Array = EMPTY,
  out?: Uint8Array,
  at = 0,
  source?: number,
  destination?: number,
): Uint8Array {
  const len = tcpHeaderLength(h) + payload.length;
  const buf = out ?? new Uint8Array(at + len);
  if (buf.length < at + len)
    throw new RangeError(`encodeTcp: buffer needs ${at + len} bytes, has ${buf.length}`);
  const p = writeTcpHeader(h, buf, at);
  if (payload.length > 0) buf.set(payload, p);
  // writeTcpHeader left the checksum field zero: one pass over the segment and its pseudo-header.
  if (source !== undefined && destination !== undefined)
    put16(
      buf,
      at + F.checksum,
      ~sumWithPseudoHeader(buf, at, at + len, source, destination, TCP_PROTOCOL) & 0xffff,
    );
  return buf.subarray(at, at + len);
}
