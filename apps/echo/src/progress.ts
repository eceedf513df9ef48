import type { EchoProgress } from "./echo-client.js";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** 20971520 → "20.0 MiB" (powers of 1024, as --size reads them; rates are in Mbit/s). */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[u]}`;
}

/** One progress line: how much went out and came back, the share done, and the rate so far. */
export function progressLine(p: EchoProgress): string {
  const pct = p.total === 0 ? 100 : Math.floor((p.received / p.total) * 100);
  const rate = p.elapsedMs > 0 ? (p.received * 8) / (p.elapsedMs * 1000) : 0;
  return `sent ${formatBytes(p.sent)}, echoed ${formatBytes(p.received)} of ${formatBytes(p.total)} (${pct}%), ${rate.toFixed(1)} Mbit/s`;
}

/**
 * Prints progress on a stream: rewritten in place on a terminal, one line a second otherwise (a
 * log file or a pipe stays readable).
 */
export function progressPrinter(out: NodeJS.WriteStream): { update(p: EchoProgress): void; end(): void } {
  let last = 0;
  let shown = false;
  return {
    update(p) {
      if (out.isTTY) {
        out.write(`\r${progressLine(p)}\x1b[K`);
        shown = true;
      } else if (p.elapsedMs - last >= 1000 || p.received === p.total) {
        last = p.elapsedMs;
        out.write(`${progressLine(p)}\n`);
      }
    },
    end() {
      if (shown) out.write("\n");
    },
  };
}

/** "64M", "1.5G", "1000", "100k" → bytes (powers of 1024 for k/M/G as `dd` does), or undefined. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text);
  if (m === null) return undefined;
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()]!;
  const n = Math.round(Number(m[1]) * mult);
  return Number.isSafeInteger(n) ? n : undefined;
}
