import {
  CHITCP_HEADER_LENGTH,
  ChitcpProtocol,
  chitcpLength,
  chitcpProtocol,
  chitcpReservedZero,
} from "./chitcp-header.js";

/** Why a stream was refused: the connection that carried it is dropped. */
export type StreamFault = "bad-protocol" | "bad-header" | "oversize";

/** What a {@link FrameReader} hands on, per frame: the protocol and the payload (a view, lent for the call). */
export type FrameHandler = (protocol: number, payload: Uint8Array) => void;

/**
 * Splits a byte stream into chiTCP frames (sans-IO: chunks in, frames out). Frames that lie whole
 * inside a chunk are handed on as views into it, without copying; only a frame split across chunks
 * is gathered into one reusable buffer, whose size is bounded by the largest frame allowed. So
 * memory stays bounded whatever a peer sends.
 *
 * A header with an unknown protocol, non-zero flags or reserved bytes, or a length over `maxPayload`
 * makes `push` return a {@link StreamFault}: after it the stream cannot be trusted to be in step.
 */
export class FrameReader {
  /** Gathers a frame split across chunks; grown to the frame's size on demand, so an idle or slow connection costs 16 bytes, not 64 KiB. */
  private carry = new Uint8Array(CHITCP_HEADER_LENGTH);
  private carried = 0;
  private fault: StreamFault | undefined;

  constructor(
    private readonly maxPayload: number,
    private readonly allowHello: boolean,
  ) {}

  /** Bytes of an incomplete frame held since the last chunk: non-zero at end of stream means it was cut short. */
  get pending(): number {
    return this.carried;
  }

  /** Bytes allocated to gather split frames: 16 until a frame is split, then that frame's size at most. */
  get capacity(): number {
    return this.carry.length;
  }

  /** Feeds a chunk; calls `onFrame` for each complete frame; returns a fault when the stream goes bad. */
  push(chunk: Uint8Array, onFrame: FrameHandler): StreamFault | undefined {
    if (this.fault) return this.fault;
    const H = CHITCP_HEADER_LENGTH;
    let at = 0;
    if (this.carried > 0) {
      // Finish the frame begun in an earlier chunk: its header first (checked once whole), then its payload.
      if (this.carried < H) {
        at = this.take(chunk, at, H);
        if (this.carried < H) return undefined;
        const f = this.check(this.carry, 0);
        if (f) return (this.fault = f);
      }
      const total = H + chitcpLength(this.carry, 0);
      this.reserve(total);
      at = this.take(chunk, at, total);
      if (this.carried < total) return undefined;
      this.carried = 0;
      onFrame(chitcpProtocol(this.carry, 0), this.carry.subarray(H, total));
    }
    // Whole frames inside the chunk are handed on as views, without a copy.
    while (chunk.length - at >= H) {
      const f = this.check(chunk, at);
      if (f) return (this.fault = f);
      const end = at + H + chitcpLength(chunk, at);
      if (end > chunk.length) break;
      onFrame(chitcpProtocol(chunk, at), chunk.subarray(at + H, end));
      at = end;
    }
    // The start of a frame that continues in the next chunk; a header here was already checked, so
    // it fits the carry buffer.
    if (at < chunk.length) {
      const rest = chunk.length - at;
      this.reserve(rest >= H ? H + chitcpLength(chunk, at) : H);
      this.carry.set(chunk.subarray(at), 0);
      this.carried = rest;
    }
    return undefined;
  }

  /** Grows the carry buffer to hold `n` bytes, keeping what it holds. */
  private reserve(n: number): void {
    if (this.carry.length >= n) return;
    const bigger = new Uint8Array(
      Math.max(n, Math.min(2 * this.carry.length, CHITCP_HEADER_LENGTH + this.maxPayload)),
    );
    bigger.set(this.carry.subarray(0, this.carried));
    this.carry = bigger;
  }

  /** Copies from `chunk[at..]` into the carry buffer until it holds `upTo` bytes; returns the new `at`. */
  private take(chunk: Uint8Array, at: number, upTo: number): number {
    const n = Math.min(upTo - this.carried, chunk.length - at);
    this.carry.set(chunk.subarray(at, at + n), this.carried);
    this.carried += n;
    return at + n;
  }

  private check(b: Uint8Array, at: number): StreamFault | undefined {
    const protocol = chitcpProtocol(b, at);
    if (protocol !== ChitcpProtocol.Tcp && !(this.allowHello && protocol === ChitcpProtocol.Hello))
      return "bad-protocol";
    if (!chitcpReservedZero(b, at)) return "bad-header";
    if (chitcpLength(b, at) > this.maxPayload) return "oversize";
    return undefined;
  }
}
