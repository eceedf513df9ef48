// userstackd as it is meant to run: its own process, started through its command line, on the
// tunnel driver; applications in processes of their own; a peer host (a stack over a tunnel) in
// this process. Everything on 127.0.0.1 and UNIX sockets in a temp dir; every process is ended by
// PID at the end.
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { Tunnel } from "@userstack/driver-tunnel";
import type { Stack } from "@userstack/sockets";
import { afterEach, describe, expect, it } from "vitest";
import { connectDaemon } from "../src/index.js";
import { pattern, sha, tempDir, until } from "./helpers.js";
import {
  ClientProcess,
  freePort,
  killAll,
  type SinkRecord,
  startDaemonProcess,
  startPeer,
} from "./processes.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  await killAll();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A daemon on the tunnel driver at 127.0.0.1 and a peer host: new connections to ports 7 and 9 go
 * to the peer's tunnel; anything else stays on the daemon's own stack (its tunnel's port is its
 * own peer port), so its clients also reach each other.
 */
async function world(): Promise<{
  path: string;
  daemon: ChildProcess;
  peer: { tunnel: Tunnel; stack: Stack; sink: SinkRecord[] };
}> {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const daemonPort = await freePort();
  const peer = await startPeer(daemonPort);
  cleanups.push(() => peer.stack.close());
  const path = join(t.dir, "userstackd.sock");
  const { child } = await startDaemonProcess([
    "--socket",
    path,
    "--driver",
    "tunnel",
    "--tunnel-port",
    String(daemonPort),
    "--peer-port",
    String(daemonPort),
    "--route",
    `127.0.0.1:7=${peer.tunnel.port}`,
    "--route",
    `127.0.0.1:9=${peer.tunnel.port}`,
  ]);
  return { path, daemon: child, peer };
}

describe("userstackd with client processes", () => {
  it("serves two client processes that talk to each other through it, and each to a peer stack", async () => {
    const { path, peer } = await world();
    const [a, b] = await Promise.all([ClientProcess.start(path), ClientProcess.start(path)]);
    expect(await a.call("listenEcho", { port: 6000, tag: "a" })).toMatchObject({ port: 6000 });
    const [ab, ap, bp, sunk] = await Promise.all([
      b.call("echo", { host: "127.0.0.1", port: 6000, size: 2_000_000, seed: 1 }), // B → A, through the daemon
      a.call("echo", { host: "127.0.0.1", port: 7, size: 1_000_000, seed: 2 }), // A → peer echo
      b.call("echo", { host: "127.0.0.1", port: 7, size: 1_000_000, seed: 3 }), // B → peer echo
      b.call("sendTo", { host: "127.0.0.1", port: 9, size: 4_000_000, seed: 4 }), // B → peer sink
    ]);
    expect(ab).toMatchObject({ length: 2_000_000, got: ab.sent });
    expect(ap).toMatchObject({ length: 1_000_000, got: ap.sent });
    expect(bp).toMatchObject({ length: 1_000_000, got: bp.sent });
    expect(sunk.reply).toBe(sha(pattern(4_000_000, 4)));
    expect(peer.sink[0]).toMatchObject({ bytes: 4_000_000, ended: true });
    // This test process is a third client: the daemon lists all three and its tunnel's traffic.
    const me = await connectDaemon(path);
    cleanups.push(() => me.close());
    const stats = await me.stats();
    expect(stats.sessions.map((s) => s.pid).sort()).toEqual([a.pid, b.pid, process.pid].sort());
    expect(stats.driver).toMatch(/^tunnel 127\.0\.0\.1:\d+ \(userstack mode\)$/);
    const tunnel = stats.driverStats as { segmentsReceived: number; dropped: { badChecksum: number } };
    expect(tunnel.segmentsReceived).toBeGreaterThan(100);
    expect(tunnel.dropped.badChecksum).toBe(0);
    expect(stats.counters.protocolViolations).toBe(0);
    expect(stats.counters.creditOverruns).toBe(0);
  });

  it("resets the sockets of a client process killed mid-transfer (the daemon's stats show them gone)", async () => {
    const { path, peer } = await world();
    const victim = await ClientProcess.start(path);
    const me = await connectDaemon(path);
    cleanups.push(() => me.close());
    const { localPort } = await victim.call("stream", { host: "127.0.0.1", port: 9, tag: "s" });
    await until(() => (peer.sink[0]?.bytes ?? 0) > 2 * 1024 * 1024, 20_000, "2 MB at the sink");
    const before = await me.stats();
    expect(before.sessions.some((s) => s.pid === victim.pid && s.sockets === 1)).toBe(true);
    expect(before.connections.some((r) => r.localPort === localPort && r.state === "ESTABLISHED")).toBe(true);

    victim.child.kill("SIGKILL");

    // The peer learns it from a reset, not from silence.
    await until(() => peer.sink[0]!.error !== undefined, 10_000, "the sink to see the reset");
    expect(peer.sink[0]).toMatchObject({ error: "ECONNRESET", ended: false });
    const after = await me.stats();
    expect(after.sessions.map((s) => s.pid)).toEqual([process.pid]);
    expect(after.counters.socketsReleased).toBe(1);
    expect(after.connections.filter((r) => r.localPort === localPort)).toEqual([]);
  });

  it("gives every client socket ECONNRESET when the daemon is killed", async () => {
    const { path, daemon } = await world();
    const [a, b] = await Promise.all([ClientProcess.start(path), ClientProcess.start(path)]);
    await a.call("listenEcho", { port: 6100, tag: "server" });
    await a.call("hold", { host: "127.0.0.1", port: 7, tag: "a-to-peer" });
    const { localPort } = await b.call("hold", { host: "127.0.0.1", port: 6100, tag: "b-to-a" });
    await a.event({ event: "accepted", tag: "server", remotePort: localPort }); // A holds its end too

    daemon.kill("SIGKILL");

    expect(await a.event({ event: "socket-error", tag: "a-to-peer" })).toMatchObject({ code: "ECONNRESET" });
    expect(await a.event({ event: "socket-error", tag: "server-accepted" })).toMatchObject({
      code: "ECONNRESET",
    });
    expect(await a.event({ event: "server-error", tag: "server" })).toMatchObject({ code: "ECONNRESET" });
    expect(await b.event({ event: "socket-error", tag: "b-to-a" })).toMatchObject({ code: "ECONNRESET" });
    for (const c of [a, b]) {
      const d = await c.event({ event: "disconnect" });
      // The UNIX socket closes, or resets when the kernel held unread bytes for the dead process.
      expect([
        `userstack: the daemon at ${path} went away`,
        `userstack: the daemon at ${path} went away (read ECONNRESET)`,
      ]).toContain(d.message);
    }
  });
});
