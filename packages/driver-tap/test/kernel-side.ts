// What the kernel says about its side of a link, read with iproute2 inside the test's namespace.
import { randomBytes } from "node:crypto";
import type { Netns } from "@userstack/testkit";

/** `ip -j -s link show` for one interface: the fields the tests read. */
export interface KernelLink {
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  stats64: {
    rx: { packets: number; bytes: number; dropped: number };
    tx: { packets: number; bytes: number; dropped: number };
  };
}

/** The kernel's view of interface `name` in `ns`. */
export async function kernelLink(ns: Netns, name: string): Promise<KernelLink> {
  const [link] = JSON.parse(await ns.exec("ip", ["-j", "-s", "link", "show", "dev", name])) as KernelLink[];
  return link!;
}

/** An interface name no other test (and nothing in the root namespace) uses: `<prefix><6 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(3).toString("hex")}`;
}

/** Resolves after `ms` milliseconds (for traffic to arrive; never a timing assertion). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `done()` holds, checking every 10 ms, for at most `ms`; returns whether it held. */
export async function eventually(done: () => boolean, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) return false;
    await sleep(10);
  }
  return true;
}
