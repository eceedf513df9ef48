import { closeSync, openSync, writeSync } from "node:fs";
import type { ByteSink } from "./pcap-writer.js";

/**
 * A {@link ByteSink} writing to a file (Node only: `@userstack/pcap/node`). Bytes are buffered in
 * 64 KiB and written synchronously, so a capture is complete on disk after `flush()`/`close()` even
 * when the process exits right after.
 */
export function fileSink(path: string): ByteSink {
  const fd = openSync(path, "w");
  const buf = new Uint8Array(64 * 1024);
  let used = 0;
  let closed = false;
  const flush = () => {
    if (used > 0) writeSync(fd, buf, 0, used);
    used = 0;
  };
  return {
    write(bytes) {
      if (closed) return;
      if (used + bytes.length > buf.length) flush();
      if (bytes.length > buf.length) writeSync(fd, bytes);
      else {
        buf.set(bytes, used);
        used += bytes.length;
      }
    },
    flush,
    close() {
      if (closed) return;
      flush();
      closed = true;
      closeSync(fd);
    },
  };
}
