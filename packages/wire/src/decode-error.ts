/**
 * Why a decoder refused its input.
 *
 * - `truncated`: the buffer is shorter than a length the header or the protocol requires.
 * - `bad-version`: a version field holds a value this codec does not speak.
 * - `bad-length`: a length field is impossible (shorter than the header, longer than the buffer…).
 * - `bad-checksum`: the checksum does not verify.
 * - `bad-option`: an option is malformed (length field too short, runs past the header…).
 * - `unsupported`: well-formed, but outside what this codec handles (an ARP for another hardware type).
 */
export type DecodeReason =
  | "truncated"
  | "bad-version"
  | "bad-length"
  | "bad-checksum"
  | "bad-option"
  | "unsupported";

/**
 * The value a `decodeX` function returns for input it refuses. It is a value, not a thrown
 * exception: malformed input is normal traffic on a network, and the receive path must stay cheap
 * for it. It does not extend `Error` on purpose — capturing a stack trace per bad packet is what a
 * flood would exploit.
 *
 * ```ts
 * const ip = decodeIpv4(bytes);
 * if (ip instanceof DecodeError) { stats.malformed++; return; }
 * ```
 */
export class DecodeError {
  constructor(
    /** The codec that refused: `"ethernet"`, `"arp"`, `"ipv4"`, `"icmp"`, `"tcp"`, `"pcap"`. */
    readonly layer: string,
    /** The class of the problem. */
    readonly reason: DecodeReason,
    /** The byte offset (in the decoder's input) of the offending field, or the length that fell short. */
    readonly at: number,
    /** Optional detail for logs. */
    readonly detail?: string,
  ) {}

  /** `ipv4: bad-checksum at 10`, for logs. */
  toString(): string {
    return `${this.layer}: ${this.reason} at ${this.at}${this.detail ? ` (${this.detail})` : ""}`;
  }
}

/** True when `x` is a {@link DecodeError}; a type guard for `decodeX` results. */
export function isDecodeError(x: unknown): x is DecodeError {
  return x instanceof DecodeError;
}
