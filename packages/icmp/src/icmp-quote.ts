import { Ipv4View } from "@userstack/ipv4";
import { DecodeError, u16 } from "@userstack/wire";
import type { IcmpView } from "./icmp-message.js";

/** RFC 792: errors quote "the internet header plus the first 64 bits of the original data". */
export const ICMP_QUOTED_TRANSPORT_BYTES = 8;

/**
 * Reads the datagram an ICMP error quotes (RFC 792; RFC 1812 §4.3.2.3 allows routers to quote up
 * to 576 bytes). Returns an `Ipv4View` over the quote, or a {@link DecodeError} when the quote is
 * not an IPv4 header followed by at least 8 bytes. The view's `payload` holds the quoted transport
 * bytes (ports, and a TCP sequence number, in the first 8); its `totalLength` is the original
 * datagram's, usually longer than the quote. The quoted header checksum is not checked: routers
 * quote the header as they received it, and the information is advisory (RFC 1122 §4.2.3.9).
 */
export function decodeIcmpQuote(icmp: IcmpView): Ipv4View | DecodeError {
  const q = icmp.data;
  if (q.length < 20) return new DecodeError("icmp", "truncated", 8 + q.length, "quoted header");
  if (q[0]! >>> 4 !== 4) return new DecodeError("icmp", "bad-version", 8, "quoted datagram is not IPv4");
  const hl = (q[0]! & 0x0f) << 2;
  if (hl < 20) return new DecodeError("icmp", "bad-length", 8, "quoted IHL below 5");
  const total = u16(q, 2);
  if (total < hl) return new DecodeError("icmp", "bad-length", 10, "quoted total length below header");
  // Bytes past the original datagram's end are not part of it (a padded quote).
  const quote = total < q.length ? q.subarray(0, total) : q;
  if (quote.length < hl + ICMP_QUOTED_TRANSPORT_BYTES)
    return new DecodeError("icmp", "truncated", 8 + quote.length, "quote shorter than header + 8 bytes");
  return new Ipv4View(quote);
}
