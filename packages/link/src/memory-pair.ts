import type { Clock } from "./clock.js";
import type { Medium } from "./link.js";
import { MemoryLink } from "./memory-link.js";
import { realClock } from "./real-clock.js";

/** Options for {@link memoryPair}. */
export interface MemoryPairOptions {
  /** Largest IP datagram (default 1500). */
  mtu?: number;
  /** What the link carries (default `"ethernet"`). */
  medium?: Medium;
  /** The clock that schedules deliveries (default {@link realClock}; a VirtualClock in tests). */
  clock?: Clock;
  /** One-way delay in ms (default 0: the next turn of the clock). */
  latencyMs?: number;
  /** Frames waiting per direction before `send` drops (default 1024). */
  queueLimit?: number;
}

/**
 * Two {@link MemoryLink}s joined back to back, like a cable between two NICs: what one sends, the
 * other receives — copied (send lends its bytes), never inside `send` (delivery runs from a clock
 * timer), in batches with one `flush()` each. With a VirtualClock, delivery happens when the test
 * advances time, in a deterministic order.
 *
 * ```ts
 * const clock = new VirtualClock();
 * const [a, b] = memoryPair({ mtu: 1500, medium: "ethernet", clock });
 * b.attach({ receive: (f) => console.log("got", f.length), flush() {} });
 * a.send(frame);
 * clock.runUntilIdle(); // prints "got 60"
 * ```
 */
export function memoryPair(options: MemoryPairOptions = {}): [MemoryLink, MemoryLink] {
  const { mtu = 1500, medium = "ethernet", clock = realClock(), latencyMs = 0, queueLimit = 1024 } = options;
  if (!(mtu >= 68)) throw new RangeError(`memoryPair: mtu ${mtu} is below IPv4's minimum of 68 (RFC 791)`);
  const ends: MemoryLink[] = [];
  const carry = (from: MemoryLink, frame: Uint8Array): boolean => {
    const to = ends[1 - from.id]!;
    // A closed far end is a cable with nothing plugged in: the frame is sent, and lost.
    return to.closed || to.inbound.push(frame);
  };
  const onClose = () => {};
  for (const id of [0, 1])
    ends.push(new MemoryLink(medium, mtu, id, clock, latencyMs, queueLimit, carry, onClose));
  return [ends[0]!, ends[1]!];
}
