import { describe, expect, it } from "vitest";
import { BROADCAST, frame, LogReceiver, mac } from "../test/frames.js";
import { MemorySwitch } from "./memory-switch.js";
import { VirtualClock } from "./virtual-clock.js";

function setup(n: number, opts: { agingMs?: number; maxEntries?: number } = {}) {
  const clock = new VirtualClock();
  const sw = new MemorySwitch({ clock, ...opts });
  const ports = Array.from({ length: n }, () => sw.port());
  const rx = ports.map((p) => {
    const r = new LogReceiver();
    p.attach(r);
    return r;
  });
  return { clock, sw, ports, rx };
}

describe("MemorySwitch", () => {
  it("floods unknown unicast, learns from replies, then forwards to one port only", () => {
    const { clock, sw, ports, rx } = setup(4);
    ports[0]!.send(frame(mac(3), mac(1), 1)); // nobody knows mac 3 yet
    clock.runUntilIdle();
    expect(rx.map((r) => r.tags)).toEqual([[], [1], [1], [1]]);
    expect(sw.lookup(mac(1))).toBe(0);

    ports[2]!.send(frame(mac(1), mac(3), 2)); // the reply goes to port 0 alone
    clock.runUntilIdle();
    expect(rx.map((r) => r.tags)).toEqual([[2], [1], [1], [1]]);

    ports[0]!.send(frame(mac(3), mac(1), 3)); // now known: port 2 alone
    clock.runUntilIdle();
    expect(rx.map((r) => r.tags)).toEqual([[2], [1], [1, 3], [1]]);
    expect(sw.stats).toMatchObject({ flooded: 1, forwarded: 2 });
    expect(sw.table().map((e) => [e.mac, e.port])).toEqual([
      ["02:00:00:00:00:01", 0],
      ["02:00:00:00:00:03", 2],
    ]);
  });

  it("floods broadcast and multicast to every port except the one it came in on", () => {
    const { clock, ports, rx } = setup(3);
    ports[1]!.send(frame(BROADCAST, mac(2), 1));
    ports[1]!.send(frame(Uint8Array.of(0x01, 0x00, 0x5e, 0, 0, 1), mac(2), 2)); // IPv4 multicast MAC
    clock.runUntilIdle();
    expect(rx.map((r) => r.tags)).toEqual([[1, 2], [], [1, 2]]);
  });

  it("filters a frame whose destination sits behind its own port", () => {
    const { clock, sw, ports, rx } = setup(3);
    ports[0]!.send(frame(BROADCAST, mac(1), 1));
    ports[0]!.send(frame(BROADCAST, mac(9), 2)); // two stations behind port 0 (a hub there)
    ports[0]!.send(frame(mac(9), mac(1), 3));
    clock.runUntilIdle();
    expect(rx.map((r) => r.tags)).toEqual([[], [1, 2], [1, 2]]);
    expect(sw.stats.filtered).toBe(1);
  });

  it("does not learn a group source address", () => {
    const { clock, sw, ports } = setup(2);
    ports[0]!.send(frame(mac(2), Uint8Array.of(1, 2, 3, 4, 5, 6), 1));
    clock.runUntilIdle();
    expect(sw.table()).toEqual([]);
  });

  it("ages addresses out and floods again; traffic refreshes them", () => {
    const { clock, sw, ports, rx } = setup(3, { agingMs: 1000 });
    ports[1]!.send(frame(BROADCAST, mac(2), 1));
    clock.advance(900);
    ports[0]!.send(frame(mac(2), mac(1), 2)); // known: forwarded to port 1 only
    clock.advance(0);
    expect(rx[2]!.tags).toEqual([1]);
    ports[1]!.send(frame(mac(1), mac(2), 3)); // refreshes mac 2 at t=900
    clock.advance(1050); // t=1950: 1050 ms since mac 2 was last heard
    ports[0]!.send(frame(mac(2), mac(1), 4));
    clock.advance(0);
    expect(sw.lookup(mac(2))).toBeUndefined();
    expect(rx[2]!.tags).toEqual([1, 4]); // flooded again
  });

  it("moves a station that shows up on another port", () => {
    const { clock, sw, ports } = setup(3);
    ports[0]!.send(frame(BROADCAST, mac(5), 1));
    clock.advance(1);
    ports[2]!.send(frame(BROADCAST, mac(5), 2));
    clock.advance(1);
    expect(sw.lookup(mac(5))).toBe(2);
  });

  it("stays bounded when flooded with random source addresses: the table fills and new stations flood", () => {
    const { clock, sw, ports, rx } = setup(3, { maxEntries: 16 });
    for (let i = 0; i < 100; i++) ports[0]!.send(frame(BROADCAST, Uint8Array.of(2, 1, 0, 0, i >> 8, i), i));
    clock.runUntilIdle();
    expect(sw.table().length).toBe(16);
    expect(sw.stats.tableFull).toBe(84);
    ports[1]!.send(frame(Uint8Array.of(2, 1, 0, 0, 0, 50), mac(2), 500)); // not learned: floods
    clock.runUntilIdle();
    expect(rx[2]!.tags.at(-1)).toBe(500);
  });

  it("drops runts and forgets the addresses of an unplugged port", async () => {
    const { clock, sw, ports, rx } = setup(3);
    ports[0]!.send(new Uint8Array(10));
    ports[2]!.send(frame(BROADCAST, mac(3), 1));
    clock.runUntilIdle();
    expect(sw.stats.runts).toBe(1);
    await ports[2]!.close();
    expect(sw.lookup(mac(3))).toBeUndefined();
    ports[0]!.send(frame(BROADCAST, mac(1), 2));
    clock.runUntilIdle();
    expect(rx[1]!.tags).toEqual([1, 2]);
    expect(rx[2]!.tags).toEqual([]);
  });

  it("delivers per port in batches with one flush, deterministically", () => {
    const run = () => {
      const { clock, ports, rx } = setup(3);
      for (let i = 0; i < 3; i++) ports[0]!.send(frame(BROADCAST, mac(1), i));
      ports[1]!.send(frame(BROADCAST, mac(2), 9));
      clock.runUntilIdle();
      return rx.map((r) => r.log);
    };
    const first = run();
    expect(first[2]).toEqual(["recv:0", "recv:1", "recv:2", "recv:9", "flush"]);
    expect(run()).toEqual(first);
  });
});
