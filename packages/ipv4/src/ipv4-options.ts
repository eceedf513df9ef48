import { DecodeError } from "@userstack/wire";

// RFC 791 §3.1 "Options": either a single type octet (End of Option List, No Operation) or a
// type octet, a length octet counting the type and length octets, and length − 2 data octets.
// The type octet is: copied flag (1 bit), class (2 bits), number (5 bits).

/** IPv4 option type octets (IANA "IP Option Numbers"). Unknown types stay plain numbers. */
export const Ipv4OptionType = {
  /** End of Option List (RFC 791): single octet; what follows is padding. */
  End: 0,
  /** No Operation (RFC 791): single octet, aligns the next option. */
  Nop: 1,
  /** Record Route (RFC 791). */
  RecordRoute: 7,
  /** Internet Timestamp (RFC 791). */
  Timestamp: 68,
  /** Traceroute (RFC 1393, historic). */
  Traceroute: 82,
  /** Security (RFC 1108). */
  Security: 130,
  /** Loose Source and Record Route (RFC 791). */
  LooseSourceRoute: 131,
  /** Stream Identifier (RFC 791, obsolete). */
  StreamId: 136,
  /** Strict Source and Record Route (RFC 791). */
  StrictSourceRoute: 137,
  /** Router Alert (RFC 2113). */
  RouterAlert: 148,
} as const;
export type Ipv4OptionType = (typeof Ipv4OptionType)[keyof typeof Ipv4OptionType];

/** One option. For End and No Operation, `data` is empty. */
export interface Ipv4Option {
  type: number;
  /** The data octets after type and length: a view when parsed. */
  data: Uint8Array;
}

/** True when an option of this type must be copied into every fragment (RFC 791 §3.1, the copied flag). */
export function ipv4OptionCopied(type: number): boolean {
  return (type & 0x80) !== 0;
}

/** Smallest legal length octet of the options RFC 791/2113 define with a fixed shape. */
function minimumLength(type: number): number {
  switch (type) {
    case Ipv4OptionType.RecordRoute:
    case Ipv4OptionType.LooseSourceRoute:
    case Ipv4OptionType.StrictSourceRoute:
      return 3; // type, length, pointer
    case Ipv4OptionType.Timestamp:
      return 4; // type, length, pointer, overflow/flags
    default:
      return 2;
  }
}

/**
 * Parses the option bytes of a header (`Ipv4View.options`). Stops at End of Option List (the rest
 * is padding). Returns the options (data as views) or a `bad-option` {@link DecodeError} when an
 * option runs past the header, has a length below 2, or breaks the fixed shape of Record Route,
 * the source routes (pointer ≥ 4), Timestamp (pointer ≥ 5), Stream ID and Router Alert (length 4).
 * `at` in the error is relative to the options' first byte. Allocates: options are rare.
 */
export function parseIpv4Options(options: Uint8Array): Ipv4Option[] | DecodeError {
  const list: Ipv4Option[] = [];
  let i = 0;
  while (i < options.length) {
    const type = options[i]!;
    if (type === Ipv4OptionType.End) break;
    if (type === Ipv4OptionType.Nop) {
      list.push({ type, data: options.subarray(i + 1, i + 1) });
      i++;
      continue;
    }
    if (i + 1 >= options.length)
      return new DecodeError("ipv4", "bad-option", i, `option ${type} has no length`);
    const len = options[i + 1]!;
    if (len < minimumLength(type) || i + len > options.length)
      return new DecodeError("ipv4", "bad-option", i + 1, `option ${type} length ${len}`);
    if (
      ((type === Ipv4OptionType.StreamId || type === Ipv4OptionType.RouterAlert) && len !== 4) ||
      ((type === Ipv4OptionType.RecordRoute ||
        type === Ipv4OptionType.LooseSourceRoute ||
        type === Ipv4OptionType.StrictSourceRoute) &&
        options[i + 2]! < 4) ||
      (type === Ipv4OptionType.Timestamp && options[i + 2]! < 5)
    )
      return new DecodeError("ipv4", "bad-option", i + 1, `option ${type} is malformed`);
    list.push({ type, data: options.subarray(i + 2, i + len) });
    i += len;
  }
  return list;
}

/**
 * Serialises options into raw bytes for {@link Ipv4Header.options} (which pads them to 4 bytes).
 * End and No Operation are single octets; others get their length octet. Throws a RangeError when
 * an option's data exceeds 253 bytes.
 */
export function encodeIpv4Options(options: readonly Ipv4Option[]): Uint8Array {
  let n = 0;
  for (const o of options) n += o.type <= 1 ? 1 : 2 + o.data.length;
  const out = new Uint8Array(n);
  let i = 0;
  for (const o of options) {
    out[i++] = o.type;
    if (o.type <= 1) continue;
    if (o.data.length > 253) throw new RangeError(`encodeIpv4Options: option ${o.type} data over 253 bytes`);
    out[i++] = 2 + o.data.length;
    out.set(o.data, i);
    i += o.data.length;
  }
  return out;
}

/**
 * The options that go into every fragment after the first: those with the copied flag set
 * (RFC 791 §3.2 "Fragmentation", RFC 1122 §3.2.1.8). The result is raw bytes for
 * {@link Ipv4Header.options}; empty when nothing is copied. Malformed options yield an empty result
 * (a header we built ourselves never has them).
 */
export function copiedIpv4Options(options: Uint8Array): Uint8Array {
  const list = parseIpv4Options(options);
  if (list instanceof DecodeError) return new Uint8Array(0);
  return encodeIpv4Options(list.filter((o) => ipv4OptionCopied(o.type)));
}
