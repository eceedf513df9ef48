import type { TcpOption } from "./tcp-option.js";
import { type TcpHeader, writeTcpChecksum, writeTcpHeader } from "./tcp-segment.js";

const EMPTY = new Uint8Array(0);

/**
 * One segment the engine wants sent, handed to a {@link TcpSink}. The object is reused for every
 * segment: read it inside the sink, keep nothing. The payload is one or two views into the send
 * buffer (two when it wraps around the ring), to be copied once into the frame.
 */
export class TcpSegmentOut {
  /** IPv4 source address (ours). */
  localAddress = 0;
  /** IPv4 destination address (the peer's). */
  remoteAddress = 0;
  /** The TCP header; `options` is a reused array (replace it, do not keep it). */
  readonly header: TcpHeader & { options: TcpOption[] } = {
    sourcePort: 0,
    destinationPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    urgentPointer: 0,
    options: [],
  };
  /** First part of the payload (possibly empty). */
  payload: Uint8Array = EMPTY;
  /** Second part, from the start of the ring (usually empty). */
  payload2: Uint8Array = EMPTY;

  /** Total payload bytes. */
  get payloadLength(): number {
    return this.payload.length + this.payload2.length;
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
 * Writes `s` as a TCP segment into `out` at `at` — header, both payload parts, and the checksum
 * over the IPv4 pseudo-header unless `checksum` is false (offloaded) — and returns the end offset.
 */
export function writeTcpSegment(s: TcpSegmentOut, out: Uint8Array, at = 0, checksum = true): number {
  let p = writeTcpHeader(s.header, out, at);
  if (s.payload.length > 0) {
    out.set(s.payload, p);
    p += s.payload.length;
  }
  if (s.payload2.length > 0) {
    out.set(s.payload2, p);
    p += s.payload2.length;
  }
  if (checksum) writeTcpChecksum(out.subarray(at, p), s.localAddress, s.remoteAddress);
  return p;
}
