import { describe, expect, it } from "vitest";
import { BROADCAST, frame, LogReceiver, mac, tagOf } from "../test/frames.js";
import { memoryPair } from "./memory-pair.js";
import { realClock } from "./real-clock.js";
import { VirtualClock } from "./virtual-clock.js";

describe("memoryPair", () => {
  it("delivers asynchronously, copied, in one batch per clock turn with one flush", () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ mtu: 1500, medium: "ethernet", clock });
    const rb = new LogReceiver();
    b.attach(rb);
    const f = frame(mac(2), mac(1), 1);
    a.send(f);
    f[15] = 99; // send lent the bytes: changing them afterwards must not change what arrives
    a.sendMany([frame(mac(2), mac(1), 2), frame(mac(2), mac(1), 3)]);
    expect(rb.log).toEqual([]); // nothing inside send
    clock.advance(0);
    expect(rb.log).toEqual(["recv:1", "recv:2", "recv:3", "flush"]);
    expect(a.stats.sent).toBe(3);
    expect(b.stats.received).toBe(3);
  });

  it("applies the latency per frame: frames sent at different times arrive in different batches", () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock, latencyMs: 5 });
    const rb = new LogReceiver(() => clock.now());
    b.attach(rb);
    a.send(frame(mac(2), mac(1), 1));
    a.send(frame(mac(2), mac(1), 2));
    clock.advance(3);
    a.send(frame(mac(2), mac(1), 3));
    clock.runUntilIdle();
    expect(rb.log).toEqual(["recv:1@5", "recv:2@5", "flush", "recv:3@8", "flush"]);
  });

  it("replays a ping-pong exchange in the same order every run", () => {
    const run = () => {
      const clock = new VirtualClock();
      const [a, b] = memoryPair({ clock, latencyMs: 1 });
      const trace: string[] = [];
      let n = 0;
      // b echoes every frame; a answers every echo with the next number until 20, and both sides
      // fire an extra frame on every 7th, so batches of different sizes interleave.
      b.attach({
        receive: (f) => {
          trace.push(`b<${tagOf(f)}@${clock.now()}`);
          b.send(frame(mac(1), mac(2), tagOf(f)));
        },
        flush: () => trace.push("b.flush"),
      });
      a.attach({
        receive: (f) => {
          trace.push(`a<${tagOf(f)}@${clock.now()}`);
          if (n < 20) a.send(frame(mac(2), mac(1), ++n));
          if (n % 7 === 0) a.send(frame(mac(2), mac(1), 1000 + n));
        },
        flush: () => trace.push("a.flush"),
      });
      a.send(frame(mac(2), mac(1), 0));
      clock.runUntilIdle();
      return trace;
    };
    const first = run();
    expect(first.slice(0, 6)).toEqual(["b<0@1", "b.flush", "a<0@2", "a.flush", "b<1@3", "b.flush"]);
    // 0, then 1..20, plus the extras 1007 and 1014
    expect(first.filter((t) => t.startsWith("a<")).length).toBe(23);
    expect(run()).toEqual(first);
  });

  it("never delivers re-entrantly inside send, even when the receiver answers at once", () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    let depth = 0;
    let maxDepth = 0;
    let count = 0;
    const echo = (link: typeof a) => ({
      receive: (f: Uint8Array) => {
        depth++;
        maxDepth = Math.max(maxDepth, depth);
        if (++count < 100) link.send(f);
        depth--;
      },
      flush: () => {},
    });
    a.attach(echo(a));
    b.attach(echo(b));
    a.send(frame(BROADCAST, mac(1), 7));
    clock.runUntilIdle();
    expect(count).toBe(100);
    expect(maxDepth).toBe(1);
  });

  it("drops oversize frames, frames past the queue limit, and frames sent after close", () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock, mtu: 1500, queueLimit: 4 });
    const rb = new LogReceiver();
    b.attach(rb);
    a.send(new Uint8Array(1519)); // 1500 + 14 + one 802.1Q tag = 1518 at most
    a.send(frame(mac(2), mac(1), 1, 1518));
    for (let i = 2; i <= 6; i++) a.send(frame(mac(2), mac(1), i));
    clock.runUntilIdle();
    expect(rb.tags).toEqual([1, 2, 3, 4]);
    expect(a.stats).toMatchObject({ sent: 4, oversize: 1, queueFull: 2 });
    const ip = memoryPair({ clock, mtu: 576, medium: "ip" })[0];
    ip.send(new Uint8Array(577));
    expect(ip.stats.oversize).toBe(1);
  });

  it("stops delivering at close and loses what is sent to a closed end", async () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    const rb = new LogReceiver();
    b.attach(rb);
    a.send(frame(mac(2), mac(1), 1));
    await b.close();
    a.send(frame(mac(2), mac(1), 2));
    b.send(frame(mac(1), mac(2), 3));
    clock.runUntilIdle();
    expect(rb.log).toEqual([]);
    expect(b.stats.closed).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it("counts frames that arrive before a receiver is attached", () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    a.send(frame(mac(2), mac(1), 1));
    clock.runUntilIdle();
    expect(b.stats.unattached).toBe(1);
  });

  it("delivers on the real clock on a later turn of the event loop", async () => {
    const [a, b] = memoryPair({ clock: realClock() });
    const got = new Promise<number>((resolve) => b.attach({ receive: (f) => resolve(tagOf(f)), flush() {} }));
    a.send(frame(mac(2), mac(1), 42));
    expect(await got).toBe(42);
    await Promise.all([a.close(), b.close()]);
  });

  it("refuses an MTU IPv4 cannot use", () => {
    expect(() => memoryPair({ mtu: 20 })).toThrow(/minimum of 68/);
  });
});
