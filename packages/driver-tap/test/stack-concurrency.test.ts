// 200 connections from the kernel side to node:http on the stack, all open at the same time: the
// server holds every response until the 200th connection is accepted, so the test cannot pass with
// fewer open at once. Each response is checked byte for byte against its own body.
import { missing } from "@userstack/testkit";
import { describe, expect, it } from "vitest";
import { createBodyApp } from "./body-app.js";
import { bodyDigest } from "./deterministic-body.js";
import { STACK_IP, withStackOnTap } from "./stack-on-tap.js";

const skip = missing({ root: true, tools: ["ip", "python3"] });
const CLIENTS = 200;
const BODY = 16 * 1024;

// 200 threads connect at once, each sends one request for its own body (seed = its index), reads
// the whole response and prints "<index> <status> <body bytes> <sha256 of the body>". Every socket
// has a 30 s timeout and the script joins its threads within 45 s.
const CLIENT = `
import hashlib, socket, sys, threading
host, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
start = threading.Barrier(n)
out = [None] * n
def run(i):
    try:
        start.wait(30)
        s = socket.create_connection((host, 80), timeout=30)
        s.sendall(("GET /body?size=%d&seed=%d HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n" % (size, 1000 + i)).encode())
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        head, _, body = data.partition(b"\\r\\n\\r\\n")
        status = head.split(b" ")[1].decode()
        out[i] = "%d %s %d %s" % (i, status, len(body), hashlib.sha256(body).hexdigest())
    except Exception as e:
        out[i] = "%d error %r" % (i, e)
threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join(45)
print("\\n".join(o or "%d unfinished" % i for i, o in enumerate(out)))
`;

describe.skipIf(skip)("many kernel connections to the stack at once", () => {
  it(`serves ${CLIENTS} concurrent connections from the kernel side, every response byte-exact`, async () => {
    await withStackOnTap({}, async ({ ns, stack }) => {
      let accepted = 0;
      let open = 0;
      let peak = 0;
      let release!: () => void;
      const allOpen = new Promise<void>((resolve) => (release = resolve));
      const app = createBodyApp({ gate: () => allOpen });
      stack
        .createServer((socket) => {
          accepted++;
          peak = Math.max(peak, ++open);
          socket.on("close", () => open--);
          if (accepted === CLIENTS) release();
          app.emit("connection", socket);
        })
        .listen(80);
      const t0 = performance.now();
      const out = await ns.exec("python3", ["-c", CLIENT, STACK_IP, String(CLIENTS), String(BODY)], {
        timeoutMs: 60_000,
      });
      const seconds = (performance.now() - t0) / 1000;
      const lines = out.trim().split("\n");
      const failed = lines.filter((l, i) => l !== `${i} 200 ${BODY} ${bodyDigest(1000 + i, BODY)}`);
      console.log(`${CLIENTS} connections, ${peak} open at once, all answered in ${seconds.toFixed(2)} s`);
      expect(failed).toEqual([]);
      expect(lines).toHaveLength(CLIENTS);
      expect(accepted).toBe(CLIENTS);
      expect(peak).toBe(CLIENTS);
    });
  });
});
