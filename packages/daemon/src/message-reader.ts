import { u32 } from "@userstack/wire";
import { LENGTH_PREFIX, MAX_MESSAGE } from "./wire-format.js";

/** Why a {@link MessageReader} gave up on its stream. */
export type StreamFault = "empty-message" | "oversize";

/**
 * Splits a byte stream into message bodies. A body that lies whole inside a chunk is handed over as
 * a view of that chunk (no copy: a Data payload reaches the socket's receive queue as that view);
 * one split across chunks is gathered once into a buffer of its own size. A length of zero or over
 * `maxMessage` stops the reader (memory stays bounded whatever the peer sends).
 */
export class MessageReader {
  /** Set once the stream broke the framing; nothing more is delivered. */
  fault: StreamFault | undefined;
  private partial: Uint8Array | undefined;
  private partialAt = 0;
  private readonly head = new Uint8Array(LENGTH_PREFIX);
  private headAt = 0;
  private stopped = false;

  constructor(
    private readonly onMessage: (body: Uint8Array) => void,
    private readonly maxMessage = MAX_MESSAGE,
  ) {}

  /** Stops delivering (the session ended inside a callback). */
  stop(): void {
    this.stopped = true;
  }

  /** True when a message was begun and not finished (the stream ended mid-message if it stops here). */
  get midMessage(): boolean {
    return this.partial !== undefined || this.headAt > 0;
  }

  /** Feeds a chunk; false once the stream is faulted or stopped. */
  push(chunk: Uint8Array): boolean {
    const n = chunk.length;
    let p = 0;
    while (p < n && !this.stopped) {
      const partial = this.partial;
      if (partial !== undefined) {
        const take = Math.min(partial.length - this.partialAt, n - p);
        partial.set(chunk.subarray(p, p + take), this.partialAt);
        this.partialAt += take;
        p += take;
        if (this.partialAt === partial.length) {
          this.partial = undefined;
          this.onMessage(partial);
        }
        continue;
      }
      let len: number;
      if (this.headAt > 0 || n - p < LENGTH_PREFIX) {
        const take = Math.min(LENGTH_PREFIX - this.headAt, n - p);
        this.head.set(chunk.subarray(p, p + take), this.headAt);
        this.headAt += take;
        p += take;
        if (this.headAt < LENGTH_PREFIX) return true;
        this.headAt = 0;
        len = u32(this.head, 0);
        if (!this.check(len)) return false;
        this.partial = new Uint8Array(len);
        this.partialAt = 0;
        continue;
      }
      len = u32(chunk, p);
      if (!this.check(len)) return false;
      const end = p + LENGTH_PREFIX + len;
      if (end <= n) {
        this.onMessage(chunk.subarray(p + LENGTH_PREFIX, end));
        p = end;
      } else {
        const body = new Uint8Array(len);
        body.set(chunk.subarray(p + LENGTH_PREFIX, n));
        this.partial = body;
        this.partialAt = n - p - LENGTH_PREFIX;
        p = n;
      }
    }
    return !this.stopped;
  }

  private check(len: number): boolean {
    if (len === 0) this.fault = "empty-message";
    else if (len > this.maxMessage) this.fault = "oversize";
    else return true;
    this.stopped = true;
    return false;
  }
}
