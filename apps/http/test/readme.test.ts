// The root README's quick start, as a newcomer runs it: exactly two commands; the first, run from a
// fresh clone in a temporary directory, installs, builds and serves the HTTP app, which answers
// curl at the URL it prints and stops on Ctrl-C (the process group, by PID). The second is the
// command CI runs; it is not run here (it would run this very suite again).
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { missing } from "@userstack/testkit";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));

/** The commands of the first shell block under "## Quick start", comments removed. */
function quickStartCommands(): string[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Quick start"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
  return block
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter((l) => l.length > 0);
}

describe("the README's quick start", () => {
  it("has exactly two commands: npm start, and the test command CI runs", () => {
    const commands = quickStartCommands();
    expect(commands).toEqual(["npm start", "npm test"]);
    const ci = readFileSync(join(root, ".ci/run"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.length > 0 && !l.startsWith("#"));
    expect(ci.at(-1)).toBe(commands[1]);
    // npm start serves this app.
    const scripts = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts as Record<
      string,
      string
    >;
    expect(scripts.start).toMatch(/&& node apps\/http\/dist\/main\.js$/);
  });

  const skip = missing({ tools: ["git", "curl"] });
  it.skipIf(skip)(
    "npm start, from a fresh clone, serves the status page at the URL it prints",
    { timeout: 300_000 },
    async () => {
      const [start] = quickStartCommands();
      const dir = mkdtempSync(join(tmpdir(), "userstack-clone-"));
      // Only the outer npm's own variables are left out, so the inner npm behaves as in a new shell.
      const env = Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !/^(npm_|PNPM_|TURBO_|VITEST|NODE_OPTIONS)/i.test(k)),
      );
      try {
        await run("git", ["clone", "--quiet", root, dir], { timeout: 60_000 });
        // PORT=0: the forwarder takes any free port (the URL says which), so nothing else is disturbed.
        const child = spawn("sh", ["-c", start!], {
          cwd: dir,
          env: { ...env, PORT: "0" },
          detached: true, // its own process group: npm → sh → node, stopped together below
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
        const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
        try {
          let url: string | undefined;
          for (let i = 0; i < 1800 && url === undefined; i++) {
            url = /userstack-http: open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
            if (url === undefined) {
              if (child.exitCode !== null)
                throw new Error(`npm start exited with ${child.exitCode}:\n${out}`);
              await new Promise((r) => setTimeout(r, 100));
            }
          }
          if (url === undefined) throw new Error(`npm start printed no URL in 180 s:\n${out}`);
          // Probe until it answers (bounded), then check the page and a /bytes body.
          let page = "";
          for (let i = 0; i < 50 && !page.includes("<title>userstack"); i++) {
            page = await run("curl", ["--silent", "--max-time", "5", url]).then(
              (r) => r.stdout,
              () => "",
            );
            if (!page) await new Promise((r) => setTimeout(r, 200));
          }
          expect(page).toContain("<title>userstack · status</title>");
          const bytes = await run("curl", [
            "--silent",
            "--max-time",
            "30",
            "--write-out",
            "%{size_download}",
            "--output",
            "/dev/null",
            `${url}bytes/1000000`,
          ]);
          expect(bytes.stdout).toBe("1000000");
        } finally {
          if (child.exitCode === null) process.kill(-child.pid!, "SIGINT");
          const timer = setTimeout(() => {
            if (child.exitCode === null) process.kill(-child.pid!, "SIGKILL");
          }, 10_000);
          await exited;
          clearTimeout(timer);
        }
        expect(out).toContain("userstack-http: stopped");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
