import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { echoOf, LOOPBACK, segment, tunnelOn } from "../test/helpers.js";
import type { TunnelMode } from "./index.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const children: ChildProcess[] = [];
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.stdin?.end(); // the peer exits when its stdin closes
  await Promise.all(open.splice(0).map((t) => t.close()));
});

/** Starts test/echo-peer.ts in its own Node process; resolves with its tunnel port. */
function peerProcess(mode: TunnelMode, parentPort: number, push: number): Promise<number> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/echo-peer.ts", mode, String(parentPort), String(push)],
    {
      cwd: packageDir,
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n")) resolve(JSON.parse(line!).port);
    });
    child.once("exit", (code) => reject(new Error(`echo peer exited with ${code} before listening`)));
  });
}

const digest = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("two tunnel hosts in two processes on 127.0.0.1", () => {
  for (const mode of ["userstack", "chitcp"] as const) {
    it(`exchange segments both ways byte-exact (${mode} mode)`, async () => {
      const me = await tunnelOn({ mode });
      open.push(me.t);
      const push = 100;
      const childPort = await peerProcess(mode, me.t.port, push);
      me.t.addRoute({ address: "127.0.0.1", port: childPort });
      const max = mode === "chitcp" ? 980 : 65_000;
      const mine = Array.from({ length: 300 }, (_, i) => segment(8000, 8001, i, (i * 7919) % max));
      // Paced like a sender with a window: a 10 MB burst in one turn would overflow the connection's
      // buffer (maxBufferedBytes), and the tunnel would rightly drop the excess as congestion.
      for (let i = 0; i < mine.length; i++) {
        me.t.send(LOOPBACK, 6, mine[i]!);
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 2));
      }
      await me.rx.waitFor(push + mine.length, 30_000);
      const fromChild = me.rx.got.filter((r) => r.segment[0] === 7000 >> 8 && r.segment[1] === (7000 & 0xff));
      const echoes = me.rx.got.filter((r) => r.segment[2] === 8000 >> 8 && r.segment[3] === (8000 & 0xff));
      expect(fromChild.map((r) => digest(r.segment))).toEqual(
        Array.from({ length: push }, (_, i) =>
          digest(segment(7000, 7001, i, (i * 4099) % (mode === "chitcp" ? 980 : 60_000))),
        ),
      );
      expect(echoes.map((r) => digest(r.segment))).toEqual(mine.map((s) => digest(echoOf(s))));
      expect(me.t.stats.dropped).toMatchObject({ badChecksum: 0, congested: 0, unreachable: 0 });
      // One real connection, whichever side dialed it first.
      expect(me.t.openConnections).toBe(1);
    });
  }
});
