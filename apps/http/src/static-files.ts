import { createReadStream, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".htm": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".ico": "image/x-icon",
  ".pdf": "application/pdf",
  ".pcap": "application/vnd.tcpdump.pcap",
  ".wasm": "application/wasm",
};

/**
 * Serves the files under `root` (a directory index is `index.html`) for GET and HEAD, streamed
 * from disk with Content-Length and Content-Type. `path` is the URL path below the mount point,
 * still percent-encoded. A path that leaves `root` (`..`, an encoded NUL) is refused with 400.
 */
export function serveFile(root: string, path: string, req: IncomingMessage, res: ServerResponse): void {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    plain(res, 400, "The path is not valid percent-encoding.\n");
    return;
  }
  const base = resolve(root);
  const file = normalize(join(base, decoded));
  if (decoded.includes("\0") || (file !== base && !file.startsWith(base + sep))) {
    plain(res, 400, "That path leaves the served directory.\n");
    return;
  }
  let target = file;
  let stat = statOrUndefined(target);
  if (stat?.isDirectory()) {
    target = join(file, "index.html");
    stat = statOrUndefined(target);
  }
  if (stat === undefined || !stat.isFile()) {
    plain(res, 404, `No file ${decoded} here.\n`);
    return;
  }
  res.writeHead(200, {
    "content-type": TYPES[extname(target).toLowerCase()] ?? "application/octet-stream",
    "content-length": stat.size,
    "last-modified": stat.mtime.toUTCString(),
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const stream = createReadStream(target);
  stream.on("error", () => res.destroy());
  stream.pipe(res);
}

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** A short text/plain response. */
export function plain(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
