import type { Clock } from "./clock.js";
import { type FaultConfig, type FaultEvent, FaultLane, type FaultStats } from "./fault-lane.js";
import type { Link, Medium, Receiver } from "./link.js";

/** Options for {@link withFaults}: faults for both directions, optionally overridden per direction. */
export interface FaultOptions extends FaultConfig {
  /** Seeds the generator; the same seed, traffic and clock replay the same faults. */
  seed: number;
  /** Times delays, jitter, the rate limiter and reordering (a VirtualClock in tests). */
  clock: Clock;
  /** Called for every fault applied, drops included with their reason. Off by default. */
  trace?: (event: FaultEvent) => void;
  /** Overrides for frames going out through `send`. */
  send?: FaultConfig;
  /** Overrides for frames coming in towards the receiver. */
  receive?: FaultConfig;
}

/** A link with faults; `stats` counts each direction. */
export interface FaultyLink extends Link {
  readonly stats: { readonly send: FaultStats; readonly receive: FaultStats };
}

class FaultLink implements FaultyLink {
  readonly stats: { send: FaultStats; receive: FaultStats };
  private receiver: Receiver | undefined;
  private readonly out: FaultLane;
  private readonly in: FaultLane;

  constructor(
    private readonly inner: Link,
    options: FaultOptions,
  ) {
    const { seed, clock, trace, send, receive, ...common } = options;
    this.out = new FaultLane(
      { ...common, ...send },
      seed,
      "send",
      clock,
      trace,
      (f) => inner.send(f),
      () => {},
    );
    this.in = new FaultLane(
      { ...common, ...receive },
      seed,
      "receive",
      clock,
      trace,
      (f) => this.receiver?.receive(f),
      () => this.receiver?.flush(),
    );
    this.stats = { send: this.out.stats, receive: this.in.stats };
  }

  get medium(): Medium {
    return this.inner.medium;
  }
  get mtu(): number {
    return this.inner.mtu;
  }
  get mac(): Uint8Array | undefined {
    return this.inner.mac;
  }

  send(frame: Uint8Array): void {
    this.out.input(frame);
  }

  sendMany(frames: readonly Uint8Array[]): void {
    for (const f of frames) this.out.input(f);
  }

  attach(receiver: Receiver): void {
    this.receiver = receiver;
    this.inner.attach({ receive: (f) => this.in.input(f), flush: () => this.in.innerFlush() });
  }

  async close(): Promise<void> {
    this.out.close();
    this.in.close();
    await this.inner.close();
  }
}

/**
 * Wraps any link with seeded faults, like smoltcp's FaultInjector: loss, duplication, reordering,
 * delay with jitter, corruption, a rate limit with a bounded queue, and a size limit — applied
 * independently to each direction (frames sent, and frames received), each with its own random
 * stream, counters and queue. Every drop is reported to `trace` with its reason.
 *
 * Order of the stages for each frame: size limit → drop → corrupt → duplicate → rate limiter
 * queue → delay ± jitter → reorder hold → out.
 *
 * ```ts
 * const clock = new VirtualClock();
 * const [a, b] = memoryPair({ clock });
 * const lossy = withFaults(a, { seed: 7, drop: 0.05, delayMs: 20, jitterMs: 5, clock, trace: console.log });
 * ```
 */
export function withFaults(inner: Link, options: FaultOptions): FaultyLink {
  return new FaultLink(inner, options);
}
