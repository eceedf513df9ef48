import { type ByteSink, LinkType, PcapWriter } from "@userstack/pcap";
import type { Clock } from "./clock.js";
import { type Link, type Medium, type Receiver, sendAll } from "./link.js";

/** Options for {@link withCapture}. */
export interface CaptureOptions {
  /** Longest bytes kept per frame (default: whole frames). Only used when a sink is given. */
  snapLen?: number;
}

/** A link whose traffic is being captured; `writer` is exposed so a caller can flush mid-run. */
export interface CapturedLink extends Link {
  readonly writer: PcapWriter;
}

/** The pcap link type for a medium: Ethernet frames, or bare IP packets (LINKTYPE_RAW). */
export function linkTypeOf(medium: Medium): number {
  return medium === "ethernet" ? LinkType.Ethernet : LinkType.Raw;
}

class CaptureLink implements CapturedLink {
  private receiver: Receiver | undefined;
  private readonly tap: Receiver = {
    receive: (frame) => {
      this.writer.write(frame, this.stamp());
      this.receiver?.receive(frame);
    },
    flush: () => this.receiver?.flush(),
  };

  constructor(
    private readonly inner: Link,
    readonly writer: PcapWriter,
    private readonly owned: boolean,
    private readonly clock: Clock,
  ) {}

  get medium(): Medium {
    return this.inner.medium;
  }
  get mtu(): number {
    return this.inner.mtu;
  }
  get mac(): Uint8Array | undefined {
    return this.inner.mac;
  }

  private stamp(): number {
    return (this.clock.timeOrigin ?? 0) + this.clock.now();
  }

  send(frame: Uint8Array): void {
    this.writer.write(frame, this.stamp());
    this.inner.send(frame);
  }

  sendMany(frames: readonly Uint8Array[]): void {
    const t = this.stamp();
    for (const f of frames) this.writer.write(f, t);
    sendAll(this.inner, frames);
  }

  attach(receiver: Receiver): void {
    this.receiver = receiver;
    this.inner.attach(this.tap);
  }

  async close(): Promise<void> {
    await this.inner.close();
    if (this.owned) await this.writer.close();
    else this.writer.flush();
  }
}

/**
 * Wraps any link so that every frame it sends and receives is written to a pcap capture, like
 * smoltcp's PcapWriter: both directions, in the order they cross the wrapper, timestamped by
 * `clock` (`clock.timeOrigin + clock.now()`, so virtual time gives reproducible files).
 *
 * `out` is either a {@link ByteSink} (a file via `fileSink` from `@userstack/pcap/node`, a
 * `MemorySink`, a stream) — then the wrapper writes the file header with the link type of the
 * medium (Ethernet, or raw IP for an IP link) and closes the sink on `close()` — or a
 * {@link PcapWriter} the caller owns (then `close()` only flushes it).
 *
 * Put capture innermost to record what the wire saw, outside faults to record what the stack saw:
 *
 * ```ts
 * const link = withFaults(withCapture(tap, fileSink("run.pcap"), clock), { seed: 7, drop: 0.01, clock });
 * ```
 */
export function withCapture(
  inner: Link,
  out: PcapWriter | ByteSink,
  clock: Clock,
  options: CaptureOptions = {},
): CapturedLink {
  if (out instanceof PcapWriter) return new CaptureLink(inner, out, false, clock);
  const writer = new PcapWriter(out, {
    linkType: linkTypeOf(inner.medium),
    ...(options.snapLen !== undefined ? { snapLen: options.snapLen } : {}),
  });
  return new CaptureLink(inner, writer, true, clock);
}
