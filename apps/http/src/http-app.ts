import type { IncomingMessage, ServerResponse } from "node:http";
import { MAX_PATTERN_BYTES, patternStream } from "./byte-pattern.js";
import { sink } from "./sink.js";
import { plain, serveFile } from "./static-files.js";
import type { StatusModel } from "./status-model.js";
import { STATUS_PAGE } from "./status-page.js";

/** Options of {@link httpHandler}. */
export interface HttpHandlerOptions {
  /** The directory served under /files/ (none: /files/ answers 404 saying how to set one). */
  staticDir?: string;
  status: StatusModel;
}

const ROUTES = `GET  /                  the live status page
GET  /api/status        the stack's interfaces, connections and counters (JSON)
GET  /api/connection?id=<id>   one connection's samples and first segments (JSON)
GET  /bytes/<n>         n bytes of the pattern a-z A-Z 0-9 - \\n repeated
POST /sink              reads the body, answers {"bytes", "sha256"}
GET  /files/<path>      static files (with --static <dir>)
`;

/**
 * The app's routes, as a `node:http` request listener: the status page and its JSON, `/bytes/N`,
 * `/sink` and static files. The parsing is node:http's; this only routes.
 */
export function httpHandler(
  options: HttpHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { status } = options;
  return (req, res) => {
    status.http.requests++;
    const url = new URL(req.url ?? "/", "http://userstack");
    const path = url.pathname;
    const method = req.method ?? "GET";
    const readOnly = method === "GET" || method === "HEAD";
    const notAllowed = (allow: string) => plain(res, 405, `Use ${allow} here.\n`, { allow });

    if (path === "/" || path === "/index.html") {
      if (!readOnly) return notAllowed("GET, HEAD");
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "content-length": Buffer.byteLength(STATUS_PAGE),
        "cache-control": "no-store",
      });
      res.end(method === "HEAD" ? undefined : STATUS_PAGE);
      return;
    }
    if (path === "/api/status") {
      if (!readOnly) return notAllowed("GET, HEAD");
      return json(res, status.status(), method);
    }
    if (path === "/api/connection") {
      if (!readOnly) return notAllowed("GET, HEAD");
      const id = url.searchParams.get("id") ?? "";
      const report = status.connection(id);
      if (report === undefined) return plain(res, 404, `No connection ${id} is known (any more).\n`);
      return json(res, report, method);
    }
    if (path.startsWith("/bytes/")) {
      if (!readOnly) return notAllowed("GET, HEAD");
      const text = path.slice("/bytes/".length);
      const n = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
      if (!(n <= MAX_PATTERN_BYTES))
        return plain(
          res,
          400,
          `/bytes/<n> takes a byte count from 0 to ${MAX_PATTERN_BYTES}, not "${text}".\n`,
        );
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": n });
      if (method === "HEAD") {
        res.end();
        return;
      }
      const body = patternStream(n);
      body.on("data", (d: Buffer) => {
        status.http.bytesServed += d.length;
      });
      body.pipe(res);
      res.on("close", () => body.destroy());
      return;
    }
    if (path === "/sink") {
      if (method !== "POST") return notAllowed("POST");
      req.on("data", (d: Buffer) => {
        status.http.bytesSunk += d.length;
      });
      return sink(req, res);
    }
    if (path === "/files" || path.startsWith("/files/")) {
      if (!readOnly) return notAllowed("GET, HEAD");
      if (options.staticDir === undefined)
        return plain(res, 404, "No directory is served: start userstack-http with --static <dir>.\n");
      return serveFile(options.staticDir, path.slice("/files".length) || "/", req, res);
    }
    return plain(res, 404, `Nothing at ${path}. This server has:\n${ROUTES}`);
  };
}

function json(res: ServerResponse, value: unknown, method: string): void {
  const body = JSON.stringify(value, (_k, v) => (v === Number.POSITIVE_INFINITY ? null : v));
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  res.end(method === "HEAD" ? undefined : body);
}
