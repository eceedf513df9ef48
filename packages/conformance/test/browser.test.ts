import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodePcap } from "@userstack/pcap";
import { missing, readFixture, withChromium } from "@userstack/testkit";
import { DecodeError, toHex } from "@userstack/wire";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

// DESIGN.md: the protocol packages "run unchanged in browsers". This bundles them for the browser
// (a Node import would fail the build) and runs a smoke test in headless Chromium.

const root = fileURLToPath(new URL("../../", import.meta.url));
const PACKAGES = ["wire", "ethernet", "arp", "ipv4", "icmp", "tcp", "pcap", "link"];

function frames(file: string, indexes: number[]): string[] {
  const f = decodePcap(readFixture(file));
  if (f instanceof DecodeError) throw new Error(String(f));
  return indexes.map((i) => toHex(f.records[i]!.data));
}

const skip = missing({ tools: ["chromium"] });
describe("the browser bundle check has teeth", () => {
  it("refuses a module that imports Node (pcap's file sink)", async () => {
    await expect(
      build({
        entryPoints: [join(root, "pcap/src/node.ts")],
        bundle: true,
        platform: "browser",
        write: false,
        logLevel: "silent",
      }),
    ).rejects.toThrow(/node:fs/);
  });
});

describe.skipIf(skip)("the protocol packages in a browser", () => {
  it("bundle for the browser with no Node module, and decode, sum, and carry TCP in Chromium", async () => {
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL("./browser-entry.ts", import.meta.url))],
      bundle: true,
      platform: "browser",
      format: "iife",
      target: "es2022",
      write: false,
      logLevel: "silent",
      alias: Object.fromEntries(PACKAGES.map((p) => [`@userstack/${p}`, join(root, p, "src/index.ts")])),
    });
    const code = bundle.outputFiles[0]!.text;
    expect(code).not.toMatch(/require\(["']node:/);
    await withChromium(async (browser) => {
      const page = browser.pages()[0] ?? (await browser.newPage());
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.setContent("<!doctype html><title>userstack</title>");
      await page.addScriptTag({ content: code });
      const input = [...frames("arp-ping.pcap", [0, 2]), ...frames("tcp-session.pcap", [0])];
      const result = (await page.evaluate(
        (f) => (globalThis as unknown as { runSmoke(f: string[]): unknown }).runSmoke(f),
        input,
      )) as Record<string, unknown>;
      const ua = await page.evaluate(
        () => (globalThis as unknown as { navigator: { userAgent: string } }).navigator.userAgent,
      );
      expect(ua).toContain("Chrome");
      expect(errors).toEqual([]);
      expect(result.arp).toBe("66:d9:aa:c2:02:d4 asks who has 10.9.0.2");
      expect(result.ping).toBe("10.9.0.1 > 10.9.0.2 icmp type 8 seq 1");
      expect(result.synEtherType).toBe(true);
      expect(result.syn).toEqual({ port: 7777, mss: 1460, wscale: 10, sack: true, ts: true });
      expect(result.checksumAgree).toBe(true);
      expect(result.checksumOfHeader).toBe(0);
      expect(result.tcp).toMatchObject({ received: 1 << 20, sum: 1, closed: true });
      expect((result.tcp as { segments: number }).segments).toBeGreaterThan(700);
      expect(result.pcapRecords).toBe(3);
      expect(result.linkDelivered).toBe(3);
    });
  });
});
