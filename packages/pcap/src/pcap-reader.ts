import { DecodeError } from "@userstack/wire";
import {
  PCAP_FILE_HEADER_LENGTH,
  PCAP_MAGIC_MICROS,
  PCAP_MAGIC_NANOS,
  PCAP_RECORD_HEADER_LENGTH,
} from "./pcap-format.js";

/** Larger records are refused as corrupt: no link carries 64 MiB frames, and a torn or garbage file
 * must not make the streaming reader wait for (and buffer) gigabytes. */
const MAX_RECORD = 64 * 1024 * 1024;

/** One packet of a capture. `data` is a view into the capture's bytes. */
export interface PcapRecord {
  /**
   * Capture time in milliseconds since the Unix epoch (fractional). A double cannot hold today's
   * epoch to the nanosecond: use `seconds` and `nanoseconds` when exact values matter.
   */
  timeMs: number;
  /** The timestamp's whole seconds, exactly as stored. */
  seconds: number;
  /** The timestamp's fraction in nanoseconds (a microsecond file's value × 1000), exactly. */
  nanoseconds: number;
  /** The captured bytes (at most the snapshot length). */
  data: Uint8Array;
  /** The packet's length on the wire. */
  originalLength: number;
}

/** A decoded capture: its header fields and its records. */
export interface PcapFile {
  linkType: number;
  snapLen: number;
  nanosecond: boolean;
  littleEndian: boolean;
  records: PcapRecord[];
}

/** Parses the 24-byte file header; returns its fields or a {@link DecodeError}. */
function decodeFileHeader(bytes: Uint8Array): Omit<PcapFile, "records"> | DecodeError {
  if (bytes.length < PCAP_FILE_HEADER_LENGTH) return new DecodeError("pcap", "truncated", bytes.length);
  const v = new DataView(bytes.buffer, bytes.byteOffset, PCAP_FILE_HEADER_LENGTH);
  const le = v.getUint32(0, true);
  const be = v.getUint32(0, false);
  let littleEndian: boolean;
  let nanosecond: boolean;
  if (le === PCAP_MAGIC_MICROS || le === PCAP_MAGIC_NANOS) {
    littleEndian = true;
    nanosecond = le === PCAP_MAGIC_NANOS;
  } else if (be === PCAP_MAGIC_MICROS || be === PCAP_MAGIC_NANOS) {
    littleEndian = false;
    nanosecond = be === PCAP_MAGIC_NANOS;
  } else {
    return new DecodeError("pcap", "unsupported", 0, "not a classic pcap magic number");
  }
  if (v.getUint16(4, littleEndian) !== 2) return new DecodeError("pcap", "bad-version", 4);
  return {
    littleEndian,
    nanosecond,
    snapLen: v.getUint32(16, littleEndian),
    // The low 16 bits are the link type; the upper ones carry the FCS length and flag bits
    // (draft-ietf-opsawg-pcap §4, "LinkType and additional information").
    linkType: v.getUint32(20, littleEndian) & 0xffff,
  };
}

/**
 * Decodes a whole capture held in memory. Returns a {@link DecodeError} for a bad file header, an
 * impossible record length, or a last record that runs past the end (a torn file is refused, not
 * silently shortened). Never throws.
 */
export function decodePcap(bytes: Uint8Array): PcapFile | DecodeError {
  const head = decodeFileHeader(bytes);
  if (head instanceof DecodeError) return head;
  const reader = new PcapStreamReader();
  const records: PcapRecord[] = [];
  const err = reader.push(bytes, (r) => records.push(r));
  if (err) return err;
  if (reader.pending > 0)
    return new DecodeError("pcap", "truncated", bytes.length, "last record is incomplete");
  return { ...head, records };
}

/**
 * Incremental reader for a capture arriving in chunks (a stream, a pipe from `tcpdump -w -`).
 * Records handed to the callback are views valid only during the call unless the chunk that holds
 * them is kept by the caller.
 */
export class PcapStreamReader {
  private buf = new Uint8Array(0);
  private header: Omit<PcapFile, "records"> | undefined;
  private error: DecodeError | undefined;
  /** Stream offset of `buf[0]`, so errors name a position in the whole stream. */
  private base = 0;

  /** The file header, once its 24 bytes have arrived. */
  get file(): Omit<PcapFile, "records"> | undefined {
    return this.header;
  }
  /** Bytes received but not yet part of a complete record. */
  get pending(): number {
    return this.buf.length;
  }

  /**
   * Feeds a chunk; calls `onRecord` per complete record; returns a {@link DecodeError} on a bad
   * header or record. After an error the stream cannot be resynchronised: every later call returns
   * the same error.
   */
  push(chunk: Uint8Array, onRecord: (r: PcapRecord) => void): DecodeError | undefined {
    if (this.error) return this.error;
    let b = chunk;
    if (this.buf.length > 0) {
      b = new Uint8Array(this.buf.length + chunk.length);
      b.set(this.buf);
      b.set(chunk, this.buf.length);
    }
    let at = 0;
    if (!this.header) {
      if (b.length < PCAP_FILE_HEADER_LENGTH) {
        this.buf = b.slice();
        return undefined;
      }
      const h = decodeFileHeader(b);
      if (h instanceof DecodeError) return (this.error = h);
      this.header = h;
      at = PCAP_FILE_HEADER_LENGTH;
    }
    const { littleEndian: le, nanosecond } = this.header;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    while (b.length - at >= PCAP_RECORD_HEADER_LENGTH) {
      const sec = v.getUint32(at, le);
      const frac = v.getUint32(at + 4, le);
      const caplen = v.getUint32(at + 8, le);
      const origlen = v.getUint32(at + 12, le);
      if (caplen > MAX_RECORD)
        return (this.error = new DecodeError(
          "pcap",
          "bad-length",
          this.base + at + 8,
          `record of ${caplen} bytes`,
        ));
      if (b.length - at - PCAP_RECORD_HEADER_LENGTH < caplen) break;
      const start = at + PCAP_RECORD_HEADER_LENGTH;
      onRecord({
        timeMs: sec * 1000 + (nanosecond ? frac / 1e6 : frac / 1e3),
        seconds: sec,
        nanoseconds: nanosecond ? frac : frac * 1000,
        data: b.subarray(start, start + caplen),
        originalLength: origlen,
      });
      at = start + caplen;
    }
    this.base += at;
    this.buf = at === b.length ? new Uint8Array(0) : b.slice(at);
    return undefined;
  }
}
