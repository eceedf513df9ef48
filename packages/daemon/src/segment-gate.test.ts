import { describe, expect, it } from "vitest";
import { type GateFlow, type GateSubscriber, SegmentGate } from "./segment-gate.js";
import { DebugAction, DebugEvents } from "./wire-format.js";

const A = 0x0a000001;
const B = 0x0a000002;

/** A TCP header with just the ports set (the gate reads nothing else). */
function segment(sport: number, dport: number, tag: number): Uint8Array {
  const s = new Uint8Array(21);
  s[0] = sport >> 8;
  s[1] = sport & 255;
  s[2] = dport >> 8;
  s[3] = dport & 255;
  s[20] = tag;
  return s;
}

function subscriber() {
  const events: { sub: number; event: number; dir: number; tag: number }[] = [];
  const states: string[] = [];
  const s: GateSubscriber = {
    debugSegment: (sub, event, dir, _src, _dst, seg) => events.push({ sub, event, dir, tag: seg[20]! }),
    debugState: (_sub, f: GateFlow, from, to) => states.push(`${f.localPort}:${from}>${to}`),
  };
  return { s, events, states };
}

describe("the debug gate", () => {
  it("passes everything untouched without subscriptions", () => {
    const gate = new SegmentGate();
    expect(gate.active).toBe(false);
    const seg = segment(1000, 80, 1);
    expect(gate.offer(DebugEvents.Outgoing, A, B, seg, seg, () => {})).toBe(true);
  });

  it("keeps a flow's order whatever order the verdicts come in, and other flows free", () => {
    const gate = new SegmentGate();
    const { s, events } = subscriber();
    gate.subscribe(s, 1, {
      remoteAddress: 0,
      localPort: 0,
      remotePort: 80,
      events: DebugEvents.Outgoing,
      intercept: true,
    });
    const out: number[] = [];
    for (const tag of [1, 2, 3]) {
      const seg = segment(1000, 80, tag);
      expect(gate.offer(DebugEvents.Outgoing, A, B, seg, seg, (f) => out.push(f[20]!))).toBe(false);
    }
    // Another flow (remote port 81) is not subscribed: it goes at once.
    const other = segment(1000, 81, 9);
    expect(gate.offer(DebugEvents.Outgoing, A, B, other, other, () => {})).toBe(true);
    expect(events.map((e) => e.tag)).toEqual([1, 2, 3]);
    gate.verdict(s, events[2]!.event, DebugAction.Pass);
    gate.verdict(s, events[1]!.event, DebugAction.Duplicate);
    expect(out).toEqual([]); // the head has no verdict yet
    gate.verdict(s, events[0]!.event, DebugAction.Drop);
    expect(out).toEqual([2, 2, 3]);
    expect(gate.stats).toMatchObject({ intercepted: 3, dropped: 1, duplicated: 1, passed: 1 });
  });

  it("withholds until released, one or all, in order", () => {
    const gate = new SegmentGate();
    const { s, events } = subscriber();
    gate.subscribe(s, 1, {
      remoteAddress: B,
      localPort: 0,
      remotePort: 0,
      events: DebugEvents.Incoming,
      intercept: true,
    });
    const got: number[] = [];
    for (const tag of [1, 2, 3]) {
      const seg = segment(80, 1000, tag); // incoming from B: remote port 80, local 1000
      gate.offer(DebugEvents.Incoming, B, A, seg, seg, (f) => got.push(f[20]!));
    }
    for (const e of events) gate.verdict(s, e.event, DebugAction.Withhold);
    expect(gate.withheldCount).toBe(3);
    gate.release(s, events[1]!.event);
    expect(got).toEqual([2]);
    gate.release(s, 0);
    expect(got).toEqual([2, 1, 3]);
    expect(gate.withheldCount).toBe(0);
  });

  it("bounds what it withholds: past the limit, withhold acts as drop", () => {
    const gate = new SegmentGate(4096, 50);
    const { s, events } = subscriber();
    gate.subscribe(s, 1, {
      remoteAddress: 0,
      localPort: 0,
      remotePort: 0,
      events: DebugEvents.Outgoing,
      intercept: true,
    });
    for (const tag of [1, 2, 3]) {
      const seg = segment(1, 2, tag); // 21 bytes each: two fit in 50
      gate.offer(DebugEvents.Outgoing, A, B, seg, seg, () => {});
    }
    for (const e of events) gate.verdict(s, e.event, DebugAction.Withhold);
    expect(gate.withheldCount).toBe(2);
    expect(gate.stats).toMatchObject({ withheld: 2, withheldOverflow: 1 });
  });

  it("ignores verdicts for events a subscriber does not own", () => {
    const gate = new SegmentGate();
    const a = subscriber();
    const b = subscriber();
    gate.subscribe(a.s, 1, {
      remoteAddress: 0,
      localPort: 0,
      remotePort: 0,
      events: DebugEvents.Outgoing,
      intercept: true,
    });
    const seg = segment(1, 2, 1);
    let delivered = 0;
    gate.offer(DebugEvents.Outgoing, A, B, seg, seg, () => delivered++);
    gate.verdict(b.s, a.events[0]!.event, DebugAction.Pass);
    gate.verdict(a.s, 999, DebugAction.Pass);
    expect(delivered).toBe(0);
    expect(gate.stats.strayVerdicts).toBe(2);
  });

  it("lets everything go when the subscriber leaves, and watchers see without holding", () => {
    const gate = new SegmentGate();
    const holder = subscriber();
    const watcher = subscriber();
    gate.subscribe(holder.s, 1, {
      remoteAddress: 0,
      localPort: 0,
      remotePort: 0,
      events: 6,
      intercept: true,
    });
    gate.subscribe(watcher.s, 5, {
      remoteAddress: 0,
      localPort: 0,
      remotePort: 0,
      events: 6,
      intercept: false,
    });
    const got: number[] = [];
    for (const tag of [1, 2]) {
      const seg = segment(1, 2, tag);
      gate.offer(DebugEvents.Outgoing, A, B, seg, seg, (f) => got.push(f[20]!));
    }
    gate.verdict(holder.s, holder.events[0]!.event, DebugAction.Withhold);
    expect(watcher.events.map((e) => [e.sub, e.event, e.tag])).toEqual([
      [5, 0, 1],
      [5, 0, 2],
    ]);
    gate.removeSubscriber(holder.s);
    expect(got).toEqual([2, 1]);
    expect(gate.active).toBe(true); // the watcher remains
  });

  it("reports state changes to State subscribers of the connection", () => {
    const gate = new SegmentGate();
    const { s, states } = subscriber();
    gate.subscribe(s, 1, {
      remoteAddress: 0,
      localPort: 80,
      remotePort: 0,
      events: DebugEvents.State,
      intercept: false,
    });
    gate.stateChange(
      { localAddress: A, localPort: 80, remoteAddress: B, remotePort: 5 },
      "SYN-RECEIVED",
      "ESTABLISHED",
    );
    gate.stateChange(
      { localAddress: A, localPort: 81, remoteAddress: B, remotePort: 5 },
      "SYN-RECEIVED",
      "ESTABLISHED",
    );
    expect(states).toEqual(["80:SYN-RECEIVED>ESTABLISHED"]);
  });
});
