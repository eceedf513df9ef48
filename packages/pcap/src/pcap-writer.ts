import {
  DEFAULT_SNAPLEN,
  type LinkType,
  PCAP_FILE_HEADER_LENGTH,
  PCAP_MAGIC_NANOS,
  PCAP_RECORD_HEADER_LENGTH,
} from "./pcap-format.js";

/** Where a writer puts its bytes: a file, a WHATWG stream, an array in memory. `write` must copy or consume `bytes` before returning. */
export interface ByteSink {
  write(bytes: Uint8Array): void;
  /** Pushes buffered bytes out (optional). */
  flush?(): void;
  /** Ends the sink (optional). */
  close?(): void | Promise<void>;
}

/** Options for {@link PcapWriter}. */
export interface PcapWriterOptions {
  linkType: LinkType | number;
  /** Longest bytes kept per packet; longer packets are cut (their original length is recorded). */
  snapLen?: number;
}

/**
 * Writes a classic pcap stream (little-endian, nanosecond timestamps) into a {@link ByteSink}.
 * The file header goes out on construction. Timestamps are milliseconds (fractional allowed) since
 * the Unix epoch, or since any origin the caller chooses — virtual clocks included.
 *
 * ```ts
 * const chunks: Uint8Array[] = [];
 * const w = new PcapWriter({ write: (b) => chunks.push(b.slice()) }, { linkType: LinkType.Ethernet });
 * w.write(frame, Date.now());
 * ```
 */
export class PcapWriter {
  readonly snapLen: number;
  private readonly header = new Uint8Array(PCAP_RECORD_HEADER_LENGTH);
  private readonly view = new DataView(this.header.buffer);
  /** Packets written so far. */
  packets = 0;

  constructor(
    private readonly sink: ByteSink,
    options: PcapWriterOptions,
  ) {
    this.snapLen = options.snapLen ?? DEFAULT_SNAPLEN;
    const h = new Uint8Array(PCAP_FILE_HEADER_LENGTH);
    const v = new DataView(h.buffer);
    v.setUint32(0, PCAP_MAGIC_NANOS, true);
    v.setUint16(4, 2, true); // version 2.4
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true); // thiszone: UTC
    v.setUint32(12, 0, true); // sigfigs
    v.setUint32(16, this.snapLen, true);
    v.setUint32(20, options.linkType, true);
    sink.write(h);
  }

  /** Appends one packet captured at `timeMs`. */
  write(packet: Uint8Array, timeMs: number): void {
    const caplen = Math.min(packet.length, this.snapLen);
    const sec = Math.floor(timeMs / 1000);
    const nsec = Math.min(999_999_999, Math.round((timeMs - sec * 1000) * 1e6));
    this.view.setUint32(0, sec >>> 0, true);
    this.view.setUint32(4, nsec, true);
    this.view.setUint32(8, caplen, true);
    this.view.setUint32(12, packet.length, true);
    this.sink.write(this.header);
    this.sink.write(caplen === packet.length ? packet : packet.subarray(0, caplen));
    this.packets++;
  }

  /** Flushes the sink. */
  flush(): void {
    this.sink.flush?.();
  }

  /** Flushes and closes the sink. */
  async close(): Promise<void> {
    this.sink.flush?.();
    await this.sink.close?.();
  }
}

/** A sink that keeps everything in memory; `bytes()` returns the whole stream so far. */
export class MemorySink implements ByteSink {
  private chunks: Uint8Array[] = [];
  private length = 0;
  write(bytes: Uint8Array): void {
    this.chunks.push(bytes.slice());
    this.length += bytes.length;
  }
  /** Everything written, as one array. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    this.chunks = [out];
    return out;
  }
}

/**
 * A sink over a WHATWG `WritableStreamDefaultWriter` (browser downloads, `fs.WriteStream` via
 * `Writable.toWeb`, …). Writes are queued on the stream; `close()` waits for them and rejects with
 * the first write error, if any (later packets are dropped after a failure).
 */
export function writableStreamSink(writer: {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}): ByteSink {
  let last: Promise<void> = Promise.resolve();
  let failed: { error: unknown } | undefined;
  return {
    write(bytes) {
      if (failed) return;
      // Catch here: a rejected write nobody awaits would be an unhandled rejection, which ends a
      // Node process. The first failure is reported by close().
      last = writer.write(bytes.slice()).catch((error: unknown) => {
        failed ??= { error };
      });
    },
    async close() {
      await last;
      if (failed) throw failed.error;
      await writer.close();
    },
  };
}
