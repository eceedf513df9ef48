import { internetChecksum, onesComplementSum } from "@userstack/ipv4";
import { DecodeError, put16, put32, u16, u32 } from "@userstack/wire";
import { IcmpType, isIcmpError, UnreachableCode } from "./icmp-type.js";

// RFC 792: every message starts with type, code, checksum and four type-specific bytes ("rest of
// header": identifier/sequence for echo, unused/next-hop MTU for Destination Unreachable, …).
const F = { type: 0, code: 1, checksum: 2, rest: 4, id: 4, seq: 6, mtu: 6, pointer: 4, end: 8 } as const;

/** The fixed part every ICMP message has. */
export const ICMP_HEADER_LENGTH = F.end;

/**
 * A plain ICMP header for building messages. `rest` is bytes 4..7 as a 32-bit number; the named
 * fields, when present, are written over it: `identifier`/`sequence` (echo, RFC 792) in bytes 4–5
 * and 6–7, `nextHopMtu` (Destination Unreachable code 4, RFC 1191 §4) in bytes 6–7, `pointer`
 * (Parameter Problem) in byte 4.
 */
export interface IcmpHeader {
  type: number;
  code?: number;
  rest?: number;
  identifier?: number;
  sequence?: number;
  nextHopMtu?: number;
  pointer?: number;
}

/**
 * A zero-copy view of a validated ICMP message (the payload of an IPv4 datagram of protocol 1),
 * made by {@link decodeIcmp}. One class for every type: the type-specific getters read the bytes
 * RFC 792 assigns for that type and are meaningless for others.
 */
export class IcmpView {
  constructor(
    /** The whole message, header and data. */
    readonly bytes: Uint8Array,
  ) {}

  /** The message type ({@link IcmpType}). */
  get type(): number {
    return this.bytes[F.type]!;
  }
  /** The code: a sub-type ({@link UnreachableCode}, {@link TimeExceededCode}, …). */
  get code(): number {
    return this.bytes[F.code]!;
  }
  /** The checksum as carried (verified by {@link decodeIcmp}). */
  get checksum(): number {
    return u16(this.bytes, F.checksum);
  }
  /** Bytes 4..7 as an unsigned 32-bit number. */
  get rest(): number {
    return u32(this.bytes, F.rest);
  }
  /** Echo request/reply: the identifier (bytes 4–5). */
  get identifier(): number {
    return u16(this.bytes, F.id);
  }
  /** Echo request/reply: the sequence number (bytes 6–7). */
  get sequence(): number {
    return u16(this.bytes, F.seq);
  }
  /**
   * Destination Unreachable, code 4: the next-hop MTU (RFC 1191 §4), or 0 from a router that
   * predates RFC 1191. 0 for any other message.
   */
  get nextHopMtu(): number {
    return this.type === IcmpType.DestinationUnreachable && this.code === UnreachableCode.FragmentationNeeded
      ? u16(this.bytes, F.mtu)
      : 0;
  }
  /** Parameter Problem: the offset of the octet in error (byte 4). */
  get pointer(): number {
    return this.bytes[F.pointer]!;
  }
  /** Redirect: the gateway address (bytes 4–7). */
  get gateway(): number {
    return u32(this.bytes, F.rest);
  }
  /** True for error messages (types 3, 4, 5, 11, 12), which quote a datagram. */
  get isError(): boolean {
    return isIcmpError(this.bytes[F.type]!);
  }
  /**
   * Everything after the 8-byte header: the echoed data of an echo message, or for an error the
   * quoted datagram (its IP header and at least its first 8 bytes; read it with `decodeIcmpQuote`).
   */
  get data(): Uint8Array {
    return this.bytes.subarray(F.end);
  }

  /** The generic header ({ type, code, rest }) that re-encodes this message with {@link encodeIcmp}. */
  toHeader(): IcmpHeader {
    return { type: this.type, code: this.code, rest: this.rest };
  }
}

/**
 * Validates an ICMP message and returns a view of it, or a {@link DecodeError} (never throws):
 * `truncated` below 8 bytes, `bad-checksum` when the checksum over the whole message (RFC 792:
 * "the 16-bit one's complement of the one's complement sum of the ICMP message", odd lengths
 * padded) does not verify, unless `verifyChecksum` is false. Pass exactly the IPv4 payload: the
 * checksum covers every byte, so trailing bytes would fail it.
 */
export function decodeIcmp(bytes: Uint8Array, verifyChecksum = true): IcmpView | DecodeError {
  if (bytes.length < F.end) return new DecodeError("icmp", "truncated", bytes.length);
  if (verifyChecksum && onesComplementSum(bytes) !== 0xffff)
    return new DecodeError("icmp", "bad-checksum", F.checksum);
  return new IcmpView(bytes);
}

/**
 * Writes the 8-byte header of `h` into `out` at `at`, then the checksum over it and the
 * `dataLength` bytes that already follow it in `out` (write the data first: an echo reply copies the
 * request's data in place, then writes its header). Returns the offset of the data.
 * Throws a RangeError when `out` has no room (a caller bug).
 */
export function writeIcmpHeader(h: IcmpHeader, out: Uint8Array, at = 0, dataLength = 0): number {
  if (at < 0 || out.length < at + F.end + dataLength)
    throw new RangeError(
      `writeIcmpHeader: needs ${F.end + dataLength} bytes at offset ${at}, the buffer has ${out.length}`,
    );
  out[at + F.type] = h.type;
  out[at + F.code] = h.code ?? 0;
  put16(out, at + F.checksum, 0);
  put32(out, at + F.rest, h.rest ?? 0);
  if (h.identifier !== undefined) put16(out, at + F.id, h.identifier);
  if (h.sequence !== undefined) put16(out, at + F.seq, h.sequence);
  if (h.nextHopMtu !== undefined) put16(out, at + F.mtu, h.nextHopMtu);
  if (h.pointer !== undefined) out[at + F.pointer] = h.pointer;
  put16(out, at + F.checksum, internetChecksum(out, at, at + F.end + dataLength));
  return at + F.end;
}

/**
 * Encodes a whole message: `data` after the 8-byte header, checksum computed over both. Writes into
 * `out` at `at` when given (`data` may already sit at `at + 8` in it), otherwise allocates. Returns
 * the message as a view of the buffer.
 */
export function encodeIcmp(
  h: IcmpHeader,
  data: Uint8Array = new Uint8Array(0),
  out?: Uint8Array,
  at = 0,
): Uint8Array {
  const len = F.end + data.length;
  const buf = out ?? new Uint8Array(at + len);
  if (at < 0 || buf.length < at + len)
    throw new RangeError(`encodeIcmp: buffer needs ${at + len} bytes, has ${buf.length}`);
  if (!(data.buffer === buf.buffer && data.byteOffset === buf.byteOffset + at + F.end))
    buf.set(data, at + F.end);
  writeIcmpHeader(h, buf, at, data.length);
  return buf.subarray(at, at + len);
}
