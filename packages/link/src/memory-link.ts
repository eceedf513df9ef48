import type { Clock } from "./clock.js";
import { FrameQueue } from "./frame-queue.js";
import type { Link, Medium, Receiver } from "./link.js";

/** Counters of a {@link MemoryLink}. */
export interface MemoryLinkStats {
  /** Frames accepted by `send`. */
  sent: number;
  /** Frames delivered to this link's receiver. */
  received: number;
  /** Frames refused by `send` because they exceed the medium's largest frame. */
  oversize: number;
  /** Frames refused by `send` because the far end's queue was full (tail drop). */
  queueFull: number;
  /** Frames refused by `send` after `close()`. */
  closed: number;
  /** Frames that arrived while no receiver was attached. */
  unattached: number;
}

/**
 * The largest frame a link of `medium` with `mtu` carries: the IP datagram plus, on Ethernet, the
 * 14-byte header and one 802.1Q tag (IEEE 802.3 allows 1522-byte tagged frames for MTU 1500).
 */
export function maxFrameLength(medium: Medium, mtu: number): number {
  return medium === "ethernet" ? mtu + 18 : mtu;
}

/**
 * One end of an in-memory link: a {@link memoryPair} end or a {@link MemorySwitch} port. Frames are
 * copied on `send` and delivered asynchronously, in batches, by the clock the link was made with.
 */
export class MemoryLink implements Link {
  /** Counters; read them in tests and benchmarks. */
  readonly stats: MemoryLinkStats = {
    sent: 0,
    received: 0,
    oversize: 0,
    queueFull: 0,
    closed: 0,
    unattached: 0,
  };
  /** @internal What is waiting for this link's receiver. */
  readonly inbound: FrameQueue;
  private isClosed = false;
  private readonly maxFrame: number;

  /** @internal Made by {@link memoryPair} and {@link MemorySwitch.port}. */
  constructor(
    readonly medium: Medium,
    readonly mtu: number,
    /** A small number naming this end: 0 or 1 in a pair, the port number on a switch. */
    readonly id: number,
    clock: Clock,
    latencyMs: number,
    queueLimit: number,
    /** Carries a frame away; false when the far end refused it (queue full). */
    private readonly carry: (from: MemoryLink, frame: Uint8Array) => boolean,
    private readonly onClose: (link: MemoryLink) => void,
  ) {
    this.maxFrame = maxFrameLength(medium, mtu);
    this.inbound = new FrameQueue(clock, latencyMs, queueLimit, this.stats);
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  send(frame: Uint8Array): void {
    if (this.isClosed) {
      this.stats.closed++;
      return;
    }
    if (frame.length > this.maxFrame) {
      this.stats.oversize++;
      return;
    }
    if (this.carry(this, frame)) this.stats.sent++;
    else this.stats.queueFull++;
  }

  sendMany(frames: readonly Uint8Array[]): void {
    for (const f of frames) this.send(f);
  }

  attach(receiver: Receiver): void {
    this.inbound.receiver = receiver;
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.inbound.close();
    this.onClose(this);
  }
}
