// The debug channel (chiTCP's debug API): a client subscribes to the segments and state changes of
// chosen connections of the daemon's stack and answers each segment with pass, drop, duplicate or
// withhold/release. The stack's own TCP then has to cope, and its counters show how.
import type { AddressInfo } from "node:net";
import { TcpFlag } from "@userstack/tcp";
import { afterEach, describe, expect, it } from "vitest";
import {
  connectDaemon,
  type DaemonStats,
  type DebugSegmentEvent,
  type DebugStateEvent,
  type RemoteStack,
} from "../src/index.js";
import { collect, memoryDaemon, pattern, sha, until } from "./helpers.js";

const open: { close(): Promise<void> }[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const c of cleanups.splice(0)) await c();
});

async function setup() {
  const { daemon, cleanup } = await memoryDaemon();
  cleanups.push(cleanup);
  const app = await connectDaemon(daemon.path);
  const debugger_ = await connectDaemon(daemon.path); // the debugger is a client of its own
  open.push(app, debugger_);
  return { app, dbg: debugger_, daemon };
}

/** A sink server on the daemon's stack that answers with the SHA-256 of what it received. */
async function sinkServer(stack: RemoteStack, mss = 0): Promise<number> {
  const server = stack.createServer({ tcp: { mss } }, (s) => {
    const chunks: Buffer[] = [];
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("end", () => s.end(sha(Buffer.concat(chunks))));
  });
  await new Promise<void>((resolve) => server.listen(0, resolve));
  return (server.address() as AddressInfo).port;
}

const dataSegment = (e: DebugSegmentEvent) => e.tcp.payloadLength > 0;

describe("the debug channel", () => {
  it("drops a chosen segment; TCP retransmits it (same sequence number seen twice, retransmits 1)", async () => {
    const { app, dbg, daemon } = await setup();
    const port = await sinkServer(app);
    const seen: { seq: number; len: number }[] = [];
    let dropped: number | undefined;
    dbg.debug.subscribe({
      remotePort: port, // the client's segments toward the server
      events: ["outgoing"],
      onSegment: (e) => {
        if (!dataSegment(e)) return "pass";
        seen.push({ seq: e.tcp.seq, len: e.tcp.payloadLength });
        if (dropped === undefined) {
          dropped = e.tcp.seq;
          return "drop";
        }
        return "pass";
      },
    });
    await until(async () => (await dbg.stats()).debug.subscribers, 5000, "the subscription");
    const data = pattern(1000, 11); // one segment: exactly one retransmission repairs the loss
    const c = app.connect(port, "10.0.0.1", () => c.end(data));
    const reply = await collect(c);
    expect(reply.toString()).toBe(sha(data));
    expect(seen).toHaveLength(2);
    expect(seen[0]).toEqual({ seq: dropped, len: 1000 });
    expect(seen[1]).toEqual({ seq: dropped, len: 1000 });
    await until(
      async () => {
        const d = (await dbg.stats()).debug;
        return d.passed + d.dropped === d.intercepted;
      },
      5000,
      "every verdict",
    );
    const stats: DaemonStats = await dbg.stats();
    // Every segment of the flow was held for a verdict (SYN, ACKs, FIN too); one was dropped.
    expect(stats.debug.dropped).toBe(1);
    expect(stats.debug.passed).toBe(stats.debug.intercepted - 1);
    // The client's connection (now in TIME-WAIT on the daemon's stack) counted one retransmission.
    const row = daemon.stats().connections.find((r) => r.remotePort === port);
    expect(row?.state).toBe("TIME-WAIT");
    expect(row?.retransmits).toBe(1);
    // The lost segment was the last one in flight: a tail loss probe (RFC 8985 §7, as in Linux)
    // resent it before the retransmission timer fired.
    expect(row?.lossProbes).toBe(1);
    expect(row?.timeouts).toBe(0);
  });

  it("duplicates a segment: the receiver drops the copy and the data arrives once", async () => {
    const { app, dbg, daemon } = await setup();
    const port = await sinkServer(app);
    let duplicated = false;
    dbg.debug.subscribe({
      remotePort: port,
      events: ["outgoing"],
      onSegment: (e) => {
        if (!dataSegment(e) || duplicated) return "pass";
        duplicated = true;
        return "duplicate";
      },
    });
    await until(async () => (await dbg.stats()).debug.subscribers, 5000, "the subscription");
    const data = pattern(300_000, 12);
    const c = app.connect(port, "10.0.0.1", () => c.end(data));
    expect((await collect(c)).toString()).toBe(sha(data));
    expect(daemon.stats().debug.duplicated).toBe(1);
    const server = daemon.stats().connections.find((r) => r.localPort === port);
    // The copy was old news to the receiver: counted as a segment in, no byte delivered twice.
    expect(server?.bytesIn).toBe(data.length);
  });

  it("withholds a segment and releases it later: the next one arrives out of order, then all in order", async () => {
    const { app, dbg, daemon } = await setup();
    const port = await sinkServer(app, 1460); // an Ethernet-sized MSS: many segments in one window
    let withheld = 0;
    let after = 0;
    const sub = dbg.debug.subscribe({
      remotePort: port,
      events: ["outgoing"],
      onSegment: (e) => {
        if (!dataSegment(e)) return "pass";
        if (withheld === 0) {
          withheld = e.event;
          return "withhold";
        }
        after++;
        return "pass";
      },
    });
    await until(async () => (await dbg.stats()).debug.subscribers, 5000, "the subscription");
    const data = pattern(100_000, 13);
    const c = app.connect({ port, host: "10.0.0.1", noDelay: true }, () => c.write(data));
    await until(() => after >= 1, 5000, "a segment after the withheld one");
    await until(
      () => (daemon.stats().connections.find((r) => r.localPort === port)?.outOfOrder ?? 0) >= 1,
      5000,
      "the receiver to queue the out-of-order segment",
    );
    sub.release(withheld);
    c.end();
    expect((await collect(c)).toString()).toBe(sha(data));
    expect(daemon.stats().debug).toMatchObject({ withheld: 1, released: 1, withheldNow: 0 });
  });

  it("reports state changes of the chosen connections", async () => {
    const { app, dbg } = await setup();
    const port = await sinkServer(app);
    const states: DebugStateEvent[] = [];
    dbg.debug.subscribe({ localPort: port, onState: (e) => states.push(e) });
    await until(async () => (await dbg.stats()).debug.subscribers, 5000, "the subscription");
    const c = app.connect(port, "10.0.0.1", () => c.end("x"));
    await collect(c);
    await until(() => states.some((s) => s.to === "CLOSED"), 5000, "the server side to close");
    // The server's side of the connection, as RFC 9293 §3.3.2 names its states.
    expect(states.map((s) => `${s.from}>${s.to}`)).toEqual([
      "SYN-RECEIVED>ESTABLISHED",
      "ESTABLISHED>CLOSE-WAIT",
      "CLOSE-WAIT>LAST-ACK",
      "LAST-ACK>CLOSED",
    ]);
    expect(states[0]).toMatchObject({ localAddress: "10.0.0.1", localPort: port, remoteAddress: "10.0.0.1" });
  });

  it("shows segments to a watcher without holding them, with the TCP header decoded", async () => {
    const { app, dbg } = await setup();
    const port = await sinkServer(app);
    const flags: number[] = [];
    dbg.debug.subscribe({
      localPort: port,
      events: ["incoming"],
      watchOnly: true,
      onSegment: (e) => {
        expect(e.event).toBe(0);
        expect(e.direction).toBe("incoming");
        flags.push(e.tcp.flags);
        return undefined;
      },
    });
    await until(async () => (await dbg.stats()).debug.subscribers, 5000, "the subscription");
    const c = app.connect(port, "10.0.0.1", () => c.end("y"));
    await collect(c);
    await until(() => flags.some((f) => f & TcpFlag.FIN), 5000, "the FIN");
    expect(flags[0]).toBe(TcpFlag.SYN);
  });

  it("lets held segments go and releases withheld ones when the debugger goes away", async () => {
    const { app, dbg, daemon } = await setup();
    const port = await sinkServer(app);
    let held = 0;
    dbg.debug.subscribe({
      remotePort: port,
      events: ["outgoing"],
      onSegment: (e) => {
        if (!dataSegment(e)) return "pass";
        held++;
        return held === 1 ? "withhold" : new Promise(() => {}); // never answers the others
      },
    });
    await until(async () => (await dbg.stats()).debug.subscribers, 5000, "the subscription");
    const data = pattern(200_000, 14);
    const c = app.connect(port, "10.0.0.1", () => c.end(data));
    const reply = collect(c);
    await until(() => held >= 2, 5000, "segments held");
    await dbg.close(); // the debugger quits: its segments go on
    expect((await reply).toString()).toBe(sha(data));
    expect(daemon.stats().debug.withheldNow).toBe(0);
  });
});
