// The live status page in a real browser (Debian's Chromium, headless): it lists the test's own
// connection — identified by the host port the forwarder saw — charts it, draws its handshake,
// data and FINs as a sequence diagram, and a screenshot is saved for a person to look at.
import { mkdtempSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missing, withChromium } from "@userstack/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpApp, startHttpApp } from "../src/index.js";

const skip = missing({ tools: ["chromium"] });

let app: HttpApp;
beforeAll(async () => {
  if (skip) return;
  app = await startHttpApp({ driver: "memory", forward: 0, sampleMs: 200 });
});
afterAll(async () => {
  await app?.close();
});

/** A paced upload on a raw keep-alive connection: POST /sink of `total` bytes, `chunk` every `everyMs`. */
function slowUpload(port: number, total: number, chunk: number, everyMs: number) {
  const socket = net.connect({ host: "127.0.0.1", port });
  let reply = "";
  socket.setEncoding("latin1").on("data", (d: string) => (reply += d));
  const connected = new Promise<void>((r) => socket.once("connect", () => r()));
  const sent = connected.then(async () => {
    socket.write(`POST /sink HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${total}\r\n\r\n`);
    for (let at = 0; at < total; at += chunk) {
      socket.write(Buffer.alloc(Math.min(chunk, total - at), 0x61));
      await new Promise((r) => setTimeout(r, everyMs));
    }
  });
  const answered = sent.then(async () => {
    for (let i = 0; i < 500 && !reply.includes("}"); i++) await new Promise((r) => setTimeout(r, 20));
    return reply;
  });
  return { socket, connected, answered };
}

describe.skipIf(skip)("status page in headless Chromium", () => {
  it("shows the test's own connection, its chart and its sequence diagram; screenshot saved", async () => {
    const port = app.forwarder!.port;
    const upload = slowUpload(port, 6_000_000, 150_000, 60);
    await upload.connected;
    const me = `127.0.0.1:${upload.socket.localPort}`;
    const errors: string[] = [];
    const shot = join(mkdtempSync(join(tmpdir(), "userstack-status-")), "status-page.png");
    await withChromium(async (browser) => {
      const page = await browser.newPage();
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      await page.goto(app.url);
      // The table lists our connection (by the host port the forwarder accepted), established.
      const row = page.locator("#connections tbody tr", { hasText: me });
      await row.waitFor({ timeout: 10_000 });
      const cells = await row.locator("td").allInnerTexts();
      expect(cells[0]).toBe("10.0.2.15:80");
      expect(cells[1]).toMatch(/^10\.0\.2\.2:\d+$/);
      expect(cells[2]).toBe(me);
      expect(cells[3]).toBe("ESTABLISHED");
      // The interface card names the driver and the forwarding.
      await expect(page.locator("#interfaces").textContent()).resolves.toContain(
        `forwarding 127.0.0.1:${port} → 10.0.2.15:80 (hostfwd)`,
      );

      await row.click();
      expect(new URL(page.url()).searchParams.get("conn")).toBe(await row.getAttribute("data-id"));
      // The chart draws our upload: received-rate points with a non-zero rate.
      await page.waitForFunction(
        () =>
          (document.querySelector("#chart polyline.series-in")?.getAttribute("points")?.split(" ").length ??
            0) >= 4,
        undefined,
        { timeout: 15_000 },
      );
      const received = await page.locator("#chart polyline.series-in").getAttribute("points");
      const ys = received!.split(" ").map((p) => Number(p.split(",")[1]));
      expect(Math.min(...ys)).toBeLessThan(Math.max(...ys)); // the rate moved off the zero line
      // The diagram starts with the three-way handshake, then the request's data.
      const labels = () => page.locator("#diagram tspan.seg-label").allTextContents();
      const first = await labels();
      expect(first.slice(0, 3)).toEqual(["SYN", "SYN ACK", "ACK"]);
      // Then the request's data (drawn as data arrows from the peer, whatever its PSH bits).
      expect(await page.locator("#diagram line.seg-data").count()).toBeGreaterThan(3);

      // Finish: the reply, then our FIN; the page shows both FINs at the end of the diagram.
      const reply = await upload.answered;
      expect(reply).toMatch(/^HTTP\/1\.1 200 OK/);
      expect(reply).toContain('"bytes":6000000');
      upload.socket.end();
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll("#diagram tspan.seg-label")].filter((t) =>
            t.textContent?.includes("FIN"),
          ).length >= 2,
        undefined,
        { timeout: 15_000 },
      );
      const last = await labels();
      expect(last.filter((l) => l.startsWith("FIN"))).toHaveLength(2);
      await expect(page.locator("#diagram").textContent()).resolves.toMatch(/more segments/);
      await page.screenshot({ path: shot, fullPage: true });
    });
    console.log(`status page screenshot: ${shot}`);
    expect(errors, errors.join("\n")).toEqual([]);
  });
});
