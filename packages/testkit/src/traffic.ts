// Load generators the tests and benchmarks share: a bulk writer and one HTTP exchange.
import http from "node:http";

/** What {@link sendRepeated} needs of a socket: Node's net.Socket and userstack's both fit. */
export interface WritableSocket {
  write(chunk: Uint8Array): boolean;
  end(): unknown;
  on(event: "drain" | "connect", listener: () => void): unknown;
}

/**
 * Once `s` connects, writes `chunk` over and over until `total` bytes (rounded up to whole chunks)
 * are written, pausing whenever `write()` asks to (until 'drain'), then ends it.
 */
export function sendRepeated(s: WritableSocket, chunk: Uint8Array, total: number): void {
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      sent += chunk.length;
      if (!s.write(chunk)) return;
    }
    s.end();
  };
  s.on("drain", pump);
  s.on("connect", pump);
}

/** One HTTP request (with `body`, if given); resolves with the status, headers and the whole body. */
export function httpRequest(
  options: http.RequestOptions,
  body?: Uint8Array,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}
