import { put32, u32 } from "@userstack/wire";
import { LENGTH_PREFIX, MAX_DATA } from "./wire-format.js";

/** Room for the length prefix, the type and a handle: what precedes a Write or Data payload. */
const DATA_HEADER = LENGTH_PREFIX + 5;

/** A new buffer is at least this large; a message that needs more gets a buffer of its size. */
const CHUNK = 64 * 1024;
/** The smallest buffer for a transferring transport. */
const MIN_TRANSFER = 1024;

/**
 * Builds batches of protocol messages and hands each batch to the transport once per synchronous
 * run (a microtask later), so a burst of calls costs one socket write or one postMessage.
 *
 * Two ways to own memory, chosen by the transport:
 * - a stream socket keeps the bytes it was handed until written, so the writer appends the next
 *   batch after the previous one in the same buffer and only allocates when it is full;
 * - a MessagePort transfers the batch's ArrayBuffer (no copy), so every batch gets a fresh buffer.
 *
 * Consecutive Write (or Data) payloads for the same handle coalesce into one message.
 */
export class MessageWriter {
  private buf: Uint8Array = new Uint8Array(0);
  private start = 0;
  private at = 0;
  /** Offset of the last message's length prefix when it is a coalescable data message, else -1. */
  private lastData = -1;
  private lastType = 0;
  private lastHandle = 0;
  private scheduled = false;
  private closed = false;
  /** The size of the next transferred buffer: twice the last batch, within bounds. */
  private lastBatch = MIN_TRANSFER;
  /** Bytes handed to the transport. */
  bytesOut = 0;

  constructor(
    private readonly sink: (batch: Uint8Array) => void,
    /** True when the sink takes the batch's ArrayBuffer away (MessagePort transfer). */
    private readonly transfers: boolean,
    private readonly allocate: (n: number) => Uint8Array = (n) => new Uint8Array(n),
  ) {}

  /** The buffer messages are written into; valid until the next `begin`/`dataRoom`. */
  get bytes(): Uint8Array {
    return this.buf;
  }

  /**
   * Starts a message of `type` whose body is `bodyLength` bytes (type byte included) and returns
   * the body's offset in {@link bytes}: fields go at that offset plus their `F` offset.
   */
  begin(type: number, bodyLength: number): number {
    this.reserve(LENGTH_PREFIX + bodyLength);
    const p = this.at;
    put32(this.buf, p, bodyLength);
    this.buf[p + LENGTH_PREFIX] = type;
    this.at = p + LENGTH_PREFIX + bodyLength;
    this.lastData = -1;
    this.schedule();
    return p + LENGTH_PREFIX;
  }

  /**
   * Room for up to `max` payload bytes of a Write or Data message for `handle`: the tail of the
   * previous message when it is the same kind for the same handle, else a new message. Fill a
   * prefix of it, then call {@link commitData} with the count (0 is fine).
   */
  dataRoom(type: number, handle: number, max: number): Uint8Array {
    if (this.lastData >= 0 && this.lastType === type && this.lastHandle === handle) {
      const carried = u32(this.buf, this.lastData) - 5;
      const room = Math.min(max, MAX_DATA - carried, this.buf.length - this.at);
      if (room > 0 && room >= Math.min(max, 4096)) return this.buf.subarray(this.at, this.at + room);
    }
    const room = Math.min(max, MAX_DATA);
    this.reserve(DATA_HEADER + room);
    const p = this.at;
    put32(this.buf, p, 5);
    this.buf[p + LENGTH_PREFIX] = type;
    put32(this.buf, p + LENGTH_PREFIX + 1, handle);
    this.at = p + DATA_HEADER;
    this.lastData = p;
    this.lastType = type;
    this.lastHandle = handle;
    this.schedule();
    return this.buf.subarray(this.at, this.at + room);
  }

  /** Ends what {@link dataRoom} began: `n` bytes were written into the room. */
  commitData(n: number): void {
    const p = this.lastData;
    if (p < 0) return;
    this.at += n;
    const body = this.at - p - LENGTH_PREFIX;
    if (body === 5) {
      // Nothing was written into a new message: take it back.
      this.at = p;
      this.lastData = -1;
      return;
    }
    put32(this.buf, p, body);
  }

  /** Hands the batch to the transport now. */
  flush(): void {
    this.scheduled = false;
    this.lastData = -1;
    if (this.at === this.start || this.closed) return;
    const batch = this.buf.subarray(this.start, this.at);
    this.bytesOut += batch.length;
    if (this.transfers) {
      this.lastBatch = Math.min(Math.max(batch.length * 2, MIN_TRANSFER), CHUNK * 4);
      this.buf = new Uint8Array(0);
      this.start = this.at = 0;
    } else {
      this.start = this.at;
    }
    this.sink(batch);
  }

  /** Drops anything not yet flushed; later messages are discarded. */
  close(): void {
    this.closed = true;
    this.start = this.at;
  }

  private reserve(n: number): void {
    if (this.buf.length - this.at >= n) return;
    // Complete messages so far go out first, in order; the new buffer starts empty.
    if (this.at > this.start) {
      const wasScheduled = this.scheduled;
      this.flush();
      this.scheduled = wasScheduled;
    }
    // A transferred buffer is used once: size it like the last batch (small for request/response
    // traffic, large for bulk), not a fixed chunk that would be mostly zero-filled waste.
    this.buf = this.allocate(Math.max(n, this.transfers ? this.lastBatch : CHUNK));
    this.start = this.at = 0;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(this.flushTask);
  }

  private readonly flushTask = (): void => {
    if (this.scheduled) this.flush();
  };
}
