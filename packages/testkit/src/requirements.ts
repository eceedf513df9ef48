import { execFileSync } from "node:child_process";

/** What a test needs from the machine. */
export interface Needs {
  /** Must run as root (network namespaces, TAP devices). */
  root?: boolean;
  /** Programs that must be on PATH, e.g. `["tshark", "curl"]`. */
  tools?: readonly string[];
}

/** True when running under CI (`CI=true` or `CI=1`): a missing requirement fails instead of skipping. */
export const underCi = /^(1|true|yes)$/i.test(process.env.CI ?? "");

const toolCache = new Map<string, boolean>();

/** True when `tool` is found on PATH. */
export function hasTool(tool: string): boolean {
  let ok = toolCache.get(tool);
  if (ok === undefined) {
    try {
      execFileSync("sh", ["-c", `command -v ${JSON.stringify(tool)}`], { stdio: "ignore" });
      ok = true;
    } catch {
      ok = false;
    }
    toolCache.set(tool, ok);
  }
  return ok;
}

/** True when the process runs as root. */
export const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/**
 * Returns the reason a test must skip, or undefined when everything it needs is here. Outside CI
 * the reason is printed once, so a user's machine passes and says what it did not test. Under CI
 * (`CI=true`) a missing requirement throws: nothing silently stops being tested there.
 *
 * ```ts
 * const skip = missing({ root: true, tools: ["tshark"] });
 * describe.skipIf(skip)("real peer", () => { ... });
 * ```
 */
export function missing(needs: Needs): string | undefined {
  const reasons: string[] = [];
  if (needs.root && !isRoot) reasons.push("needs root (run the tests with sudo, or in CI)");
  for (const t of needs.tools ?? []) {
    if (!hasTool(t)) reasons.push(`needs ${t} on PATH (apt-get install -y ${aptPackage(t)})`);
  }
  if (reasons.length === 0) return undefined;
  const reason = reasons.join("; ");
  if (underCi) throw new Error(`CI must run every test, but this one ${reason}. Install it in .ci/run.`);
  console.warn(`[skipped] ${reason}`);
  return reason;
}

const APT: Record<string, string> = {
  tshark: "tshark",
  tcpdump: "tcpdump",
  ping: "iputils-ping",
  curl: "curl",
  nc: "netcat-openbsd",
  nft: "nftables",
  ip: "iproute2",
  ethtool: "ethtool",
  wrk: "wrk",
  hping3: "hping3",
  iperf3: "iperf3",
  chromium: "chromium",
};

function aptPackage(tool: string): string {
  return APT[tool] ?? tool;
}
