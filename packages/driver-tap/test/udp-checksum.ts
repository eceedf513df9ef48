// Verifies the UDP checksum of an IPv4 datagram (RFC 768: over the pseudo-header, the UDP header and
// the data), to tell finished checksums from the partial ones an offloading kernel leaves behind.
import { decodeIpv4, onesComplementSum, pseudoHeaderSum } from "@userstack/ipv4";
import { DecodeError } from "@userstack/wire";

/** True when `datagram` is IPv4/UDP and its UDP checksum verifies (or is 0, "not computed"). */
export function udpChecksumOk(datagram: Uint8Array): boolean {
  const ip = decodeIpv4(datagram);
  if (ip instanceof DecodeError || ip.protocol !== 17) return false;
  const udp = ip.payload;
  if (udp.length < 8) return false;
  if (udp[6] === 0 && udp[7] === 0) return true;
  const initial = pseudoHeaderSum(ip.source, ip.destination, 17, udp.length);
  return onesComplementSum(udp, 0, udp.length, initial) === 0xffff;
}
