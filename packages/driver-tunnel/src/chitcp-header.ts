import { put16, u16, u32 } from "@userstack/wire";

// The chiTCP header (chiTCP's include/chitcp/packet.h, `chitcphdr_t`): 16 bytes in front of every
// segment on the real connection between two hosts.
//
//   0      2      3      4                                16
//   +------+------+------+----------------------------------+
//   | len  |proto |flags |  reserved (12 bytes, zero)       |  then `len` bytes of payload
//   +------+------+------+----------------------------------+
const F = { length: 0, protocol: 2, flags: 3, reserved: 4, end: 16 } as const;

/** Length of the chiTCP header. */
export const CHITCP_HEADER_LENGTH = 16;

/**
 * Payload types of the chiTCP header. `Tcp` and `Raw` are chiTCP's (`chitcp_proto_t`); `Hello` is
 * userstack's own, sent once by the dialing side in userstack mode only (see {@link encodeHello}).
 */
export const ChitcpProtocol = {
  Tcp: 1,
  Raw: 2,
  Hello: 0x75,
} as const;
export type ChitcpProtocol = (typeof ChitcpProtocol)[keyof typeof ChitcpProtocol];

/** Writes a chiTCP header for a payload of `length` bytes at `at`; returns the payload offset. */
export function writeChitcpHeader(out: Uint8Array, at: number, length: number, protocol: number): number {
  put16(out, at + F.length, length);
  out[at + F.protocol] = protocol;
  out[at + F.flags] = 0;
  out.fill(0, at + F.reserved, at + F.end);
  return at + F.end;
}

/** The payload length field of the header at `at`. */
export function chitcpLength(b: Uint8Array, at: number): number {
  return u16(b, at + F.length);
}

/** The protocol field of the header at `at`. */
export function chitcpProtocol(b: Uint8Array, at: number): number {
  return b[at + F.protocol]!;
}

/** True when the flags byte and the 12 reserved bytes of the header at `at` are zero, as chiTCP writes them. */
export function chitcpReservedZero(b: Uint8Array, at: number): boolean {
  return (b[at + F.flags]! | u32(b, at + 4) | u32(b, at + 8) | u32(b, at + 12)) === 0;
}

// The hello (userstack mode): 4 bytes — version (1), zero (1), the sender's listening port (2).
// The accepting side learns from it which tunnel endpoint dialed, since the dialer's source port is
// ephemeral: without it, peers could not be keyed by address *and* port, and two hosts dialing each
// other at once could not tell that their two connections join the same pair.

/** Length of a hello payload. */
export const HELLO_LENGTH = 4;
/** The hello format this code speaks. */
export const HELLO_VERSION = 1;

/** Writes a whole hello frame (header + payload) for a tunnel listening on `port`; returns its end. */
export function encodeHello(out: Uint8Array, at: number, port: number): number {
  const p = writeChitcpHeader(out, at, HELLO_LENGTH, ChitcpProtocol.Hello);
  out[p] = HELLO_VERSION;
  out[p + 1] = 0;
  put16(out, p + 2, port);
  return p + HELLO_LENGTH;
}

/** The listening port a hello payload announces, or undefined for a malformed one. */
export function decodeHello(payload: Uint8Array): number | undefined {
  if (payload.length !== HELLO_LENGTH || payload[0] !== HELLO_VERSION) return undefined;
  return u16(payload, 2);
}
