import { randomU32 } from "@userstack/wire";

/** Linux's default net.ipv4.ip_local_port_range. */
export const EPHEMERAL_FIRST = 32768;
export const EPHEMERAL_LAST = 60999;

/**
 * Picks an ephemeral port by RFC 6056 §3.3.1 Algorithm 1 (simple port randomization): start at a
 * random offset in the range and probe upward until `taken` says the port is free, so the next
 * port cannot be guessed from the last one. Returns -1 when the range is full.
 */
export function pickEphemeralPort(taken: (port: number) => boolean): number {
  const count = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
  const start = randomU32() % count;
  for (let i = 0; i < count; i++) {
    const port = EPHEMERAL_FIRST + ((start + i) % count);
    if (!taken(port)) return port;
  }
  return -1;
}
