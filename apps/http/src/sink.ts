import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * `POST /sink`: reads the whole body, counting it and hashing it with SHA-256 as it arrives (no
 * buffering), and answers `{"bytes": N, "sha256": "…"}` — so a client can check that an upload
 * of any size arrived intact.
 */
export function sink(req: IncomingMessage, res: ServerResponse): void {
  const hash = createHash("sha256");
  let bytes = 0;
  req.on("data", (d: Buffer) => {
    bytes += d.length;
    hash.update(d);
  });
  req.on("end", () => {
    const body = `${JSON.stringify({ bytes, sha256: hash.digest("hex") })}\n`;
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  req.on("error", () => res.destroy());
}
