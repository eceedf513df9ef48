// The app as a browser or curl on the host reaches it: through the memory driver's forwarder on
// 127.0.0.1, so every byte crosses the gateway's and the app's userstack TCP. Bodies are checked
// byte for byte with SHA-256 on both ends.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { missing } from "@userstack/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpApp, PATTERN, startHttpApp } from "../src/index.js";

const run = promisify(execFile);
const skip = missing({ tools: ["curl"] });
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The expected body of /bytes/n, built here independently of the app. */
function patternBody(n: number): Buffer {
  return Buffer.from(PATTERN.repeat(Math.ceil(n / 64)).slice(0, n), "latin1");
}

const dir = mkdtempSync(join(tmpdir(), "userstack-http-"));
const site = join(dir, "site");
let app: HttpApp;

beforeAll(async () => {
  if (skip) return;
  mkdirSync(join(site, "docs"), { recursive: true });
  writeFileSync(join(site, "index.html"), "<h1>hello from a user-space stack</h1>\n");
  writeFileSync(join(site, "docs", "notes.txt"), "plain text\n");
  writeFileSync(join(site, "blob.bin"), randomBytes(300_000));
  app = await startHttpApp({ driver: "memory", forward: 0, staticDir: site });
});
afterAll(async () => {
  await app?.close();
});

async function curl(args: string[]): Promise<{ stdout: Buffer; stderr: string }> {
  const { stdout, stderr } = await run("curl", ["--silent", "--show-error", "--max-time", "60", ...args], {
    encoding: "buffer",
    maxBuffer: 256 << 20,
  });
  return { stdout, stderr: stderr.toString() };
}

describe.skipIf(skip)("userstack-http through the forwarder, with curl", () => {
  it("GET /bytes/N: exactly N bytes of the pattern with Content-Length, for several N", async () => {
    for (const n of [0, 1, 63, 64, 65, 65_536, 1_000_003, 40_000_000]) {
      const file = join(dir, `bytes-${n}`);
      const { stdout } = await curl([
        "--output",
        file,
        "--write-out",
        "%{http_code} %{size_download} %header{content-length}",
        `${app.url}bytes/${n}`,
      ]);
      expect(stdout.toString()).toBe(`200 ${n} ${n}`);
      const { stdout: sum } = await run("sha256sum", [file]);
      expect(sum.split(" ")[0]).toBe(sha(patternBody(n)));
    }
  });

  it("POST /sink: the byte count and SHA-256 of a 30 MB upload match the file's", async () => {
    const file = join(dir, "upload.bin");
    const data = randomBytes(30_000_000);
    writeFileSync(file, data);
    const { stdout } = await curl([
      "--data-binary",
      `@${file}`,
      "-H",
      "content-type: application/octet-stream",
      `${app.url}sink`,
    ]);
    expect(JSON.parse(stdout.toString())).toEqual({ bytes: data.length, sha256: sha(data) });
  });

  it("keeps the connection alive across requests", async () => {
    const { stderr } = await curl([
      "--verbose",
      "--output",
      "/dev/null",
      "--output",
      "/dev/null",
      "--output",
      "/dev/null",
      `${app.url}bytes/100`,
      `${app.url}bytes/200000`,
      `${app.url}api/status`,
    ]);
    expect(stderr.match(/Re-using existing connection/g)?.length).toBe(2);
    expect(stderr.match(/Connected to 127\.0\.0\.1/g)?.length).toBe(1);
  });

  it("serves static files under /files/, with types, HEAD, 404 and no way out of the directory", async () => {
    const index = await curl(["--include", `${app.url}files/`]);
    expect(index.stdout.toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(index.stdout.toString()).toContain("content-type: text/html; charset=utf-8");
    expect(index.stdout.toString()).toMatch(/\r\n\r\n<h1>hello from a user-space stack<\/h1>\n$/);
    const notes = await curl([`${app.url}files/docs/notes.txt`]);
    expect(notes.stdout.toString()).toBe("plain text\n");
    const blob = await curl([`${app.url}files/blob.bin`]);
    expect(sha(blob.stdout)).toBe(
      sha(await import("node:fs").then((fs) => fs.readFileSync(join(site, "blob.bin")))),
    );
    const head = await curl(["--head", `${app.url}files/blob.bin`]);
    expect(head.stdout.toString()).toContain("content-length: 300000");
    const code = async (path: string) =>
      (
        await curl([
          "--path-as-is",
          "--output",
          "/dev/null",
          "--write-out",
          "%{http_code}",
          `${app.url}${path}`,
        ])
      ).stdout.toString();
    expect(await code("files/missing.txt")).toBe("404");
    // Dot segments are resolved by URL parsing before routing (to /etc/passwd: not a route)…
    expect(await code("files/../../../etc/passwd")).toBe("404");
    expect(await code("files/%2e%2e/%2e%2e/etc/passwd")).toBe("404");
    // …and encoded slashes, decoded only below /files/, are caught leaving the directory.
    expect(await code("files/..%2f..%2f..%2fetc%2fpasswd")).toBe("400");
    expect(await code("files/docs%00.txt")).toBe("400");
  });

  it("answers routes and methods it does not have with 404 and 405", async () => {
    const get404 = await curl(["--write-out", "\n%{http_code}", `${app.url}nothing-here`]);
    expect(get404.stdout.toString()).toMatch(/^Nothing at \/nothing-here\. This server has:[\s\S]*\n404$/);
    const post = await curl(["--include", "-X", "POST", `${app.url}bytes/10`]);
    expect(post.stdout.toString()).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    expect(post.stdout.toString()).toContain("allow: GET, HEAD");
    const bad = await curl(["--write-out", "%{http_code}", "--output", "/dev/null", `${app.url}bytes/lots`]);
    expect(bad.stdout.toString()).toBe("400");
  });

  it("reports the connection curl used in /api/status while it is open, with its host port", async () => {
    // A slow download keeps curl's connection open while we look.
    const slow = run("curl", [
      "--silent",
      "--limit-rate",
      "2M",
      "--output",
      "/dev/null",
      "--write-out",
      "%{local_port}",
      `${app.url}bytes/3000000`,
    ]);
    let row: { via?: string; state: string; localPort: number } | undefined;
    for (let i = 0; i < 100 && row === undefined; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const { stdout } = await curl([`${app.url}api/status`]);
      const status = JSON.parse(stdout.toString()) as {
        connections: { via?: string; state: string; localPort: number; bytesOut: number }[];
      };
      row = status.connections.find((c) => c.bytesOut > 100_000);
    }
    const { stdout: curlPort } = await slow;
    expect(row?.via).toBe(`127.0.0.1:${curlPort}`);
    expect(row?.localPort).toBe(80);
  });
});
