import { onesComplementSum, pseudoHeaderSum } from "@userstack/ipv4";
import { put16, put32 } from "@userstack/wire";
import { listTcpOptions, type TcpOption, tcpOptionsLength, writeTcpOptions } from "./tcp-option.js";
import { TCP_HEADER_LENGTH, TCP_PROTOCOL, type TcpHeader } from "./tcp-segment.js";

const EMPTY = new Uint8Array(0);
/** Most option bytes a header holds (data offset 15 words). */
const MAX_OPTIONS = 40;

/**
 * The header of a {@link TcpSegmentOut}: the fields, and the options already encoded (the engine
 * writes option bytes straight into {@link optionBytes}; no option objects per segment).
 */
export class TcpSegmentHeader implements TcpHeader {
  sourcePort = 0;
  destinationPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  urgentPointer = 0;
  /** The options on the wire, padded to a 32-bit boundary: `optionBytes[0..optionLength)`. */
  readonly optionBytes = new Uint8Array(MAX_OPTIONS);
  /** Option bytes used (a multiple of 4, at most 40). */
  optionLength = 0;

  /** The options as a list, decoded from {@link optionBytes} (allocates: for tools and tests). */
  get options(): TcpOption[] {
    const list = listTcpOptions(this.optionBytes, 0, this.optionLength);
    // Zero padding after the last option reads as an end-of-list option: not one that was set.
    if (list.length > 0 && list[list.length - 1]!.kind === 0) list.pop();
    return list;
  }

  /** Encodes `list` into {@link optionBytes}; a RangeError when it needs more than 40 bytes. */
  set options(list: readonly TcpOption[] | undefined) {
    if (list === undefined || list.length === 0) {
      this.optionLength = 0;
      return;
    }
    const n = tcpOptionsLength(list);
    if (n > MAX_OPTIONS) throw new RangeError(`TcpSegmentHeader: options take ${n} bytes, at most 40 fit`);
    this.optionLength = writeTcpOptions(list, this.optionBytes, 0);
  }

  /** Header length on the wire: 20 plus the options. */
  get length(): number {
    return TCP_HEADER_LENGTH + this.optionLength;
  }
}

/**
 * One segment the engine wants sent, handed to a {@link TcpSink}. The object is reused for every
 * segment: read it inside the sink, keep nothing. The payload is one or two views into the send
 * buffer (two when it crosses from one storage chunk into the next), to be copied once into the
 * frame.
 */
export class TcpSegmentOut {
  /** IPv4 source address (ours). */
  localAddress = 0;
  /** IPv4 destination address (the peer's). */
  remoteAddress = 0;
  /** The TCP header, options encoded (`header.options` decodes them as a list for tools). */
  readonly header = new TcpSegmentHeader();
  /** First part of the payload (possibly empty). */
  payload: Uint8Array = EMPTY;
  /** Second part, from the next storage chunk (usually empty). */
  payload2: Uint8Array = EMPTY;

  /** Total payload bytes. */
  get payloadLength(): number {
    return this.payload.length + this.payload2.length;
  }

  /** Bytes {@link writeTcpSegment} writes: header, options and payload. */
  get length(): number {
    return TCP_HEADER_LENGTH + this.header.optionLength + this.payload.length + this.payload2.length;
  }

  /** Resets the payload to nothing. */
  clearPayload(): void {
    this.payload = EMPTY;
    this.payload2 = EMPTY;
  }
}

/**
 * Receives each segment a `dispatch()` emits. Write it out (e.g. with {@link writeTcpSegment})
 * before returning: the object and its payload views are reused afterwards.
 */
export type TcpSink = (segment: TcpSegmentOut) => void;

/**
 * Writes `s` as a TCP segment into `out` at `at` — header, options, both payload parts, and the
 * checksum over the IPv4 pseudo-header unless `checksum` is false (offloaded) — and returns the
 * end offset. One pass over the payload copies it; the checksum is one more, over the frame
 * (RFC 9293 §3.1: header with a zero checksum field, then the data).
 */
export function writeTcpSegment(s: TcpSegmentOut, out: Uint8Array, at = 0, checksum = true): number {
  const h = s.header;
  const ol = h.optionLength;
  put16(out, at, h.sourcePort);
  put16(out, at + 2, h.destinationPort);
  put32(out, at + 4, h.seq);
  put32(out, at + 8, h.ack);
  out[at + 12] = ((TCP_HEADER_LENGTH + ol) >>> 2) << 4;
  out[at + 13] = h.flags;
  put16(out, at + 14, h.window);
  put16(out, at + 16, 0);
  put16(out, at + 18, h.urgentPointer);
  // At most 40 bytes: a loop beats setting up a typed-array copy.
  const ob = h.optionBytes;
  const o = at + TCP_HEADER_LENGTH;
  for (let i = 0; i < ol; i++) out[o + i] = ob[i]!;
  let p = o + ol;
  if (s.payload.length > 0) {
    out.set(s.payload, p);
    p += s.payload.length;
  }
  if (s.payload2.length > 0) {
    out.set(s.payload2, p);
    p += s.payload2.length;
  }
  if (checksum) {
    const sum = onesComplementSum(
      out,
      at,
      p,
      pseudoHeaderSum(s.localAddress, s.remoteAddress, TCP_PROTOCOL, p - at),
    );
    put16(out, at + 16, ~sum & 0xffff);
  }
  return p;
}
