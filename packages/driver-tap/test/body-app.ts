// The node:http application the real-peer tests and `bench:tap` serve, on the stack and (for the
// benchmark's comparison) on the kernel's own TCP: the same code both ways.
import http from "node:http";
import { bodyDigest, bodyStream } from "./deterministic-body.js";

/** What {@link createBodyApp} takes. */
export interface BodyAppOptions {
  /** Awaited before a `/body` response is started: lets a test hold every response back. */
  gate?: () => Promise<void>;
}

/**
 * A node:http server with two routes:
 * - `GET /body?size=N&seed=S`: N bytes of the deterministic body for S, `content-length` and its
 *   SHA-256 in `x-body-sha256`, streamed with backpressure;
 * - `GET /hello`: `hello\n` (for requests/s).
 * Anything else is a 404. The server has no listener of its own on the stack: feed it connections
 * with `server.emit("connection", socket)`, or call `listen()` for the kernel's TCP.
 */
export function createBodyApp(options: BodyAppOptions = {}): http.Server {
  const hello = Buffer.from("hello\n");
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/hello") {
      res.writeHead(200, { "content-type": "text/plain", "content-length": hello.length });
      res.end(hello);
      return;
    }
    if (url.pathname === "/body") {
      const size = Number(url.searchParams.get("size"));
      const seed = Number(url.searchParams.get("seed") ?? 1);
      if (!Number.isSafeInteger(size) || size < 0 || !Number.isSafeInteger(seed)) {
        res.writeHead(400).end("size and seed must be integers\n");
        return;
      }
      const send = () => {
        res.writeHead(200, {
          "content-type": "application/octet-stream",
          "content-length": size,
          "x-body-sha256": bodyDigest(seed, size),
        });
        bodyStream(seed, size).pipe(res);
      };
      if (options.gate) options.gate().then(send, (e) => res.destroy(e));
      else send();
      return;
    }
    res.writeHead(404).end();
  });
}
