import { parseIpv4 } from "@userstack/ipv4";
import {
  type Clock,
  type NetworkLayer,
  type NetworkReceiver,
  realClock,
  type TimerHandle,
} from "@userstack/link";

/** Counters of a {@link MemoryLoopback}. */
export interface MemoryLoopbackStats {
  /** Segments carried back to the stack. */
  delivered: number;
  /** Segments refused because `queueBytes` were already waiting (loss, for TCP to repair). */
  queueFull: number;
  /** Segments for an address other than ours: there is nobody else on a loopback. */
  notLocal: number;
}

/**
 * The "memory" driver: a network layer on which the stack reaches only itself, like Linux's `lo`.
 * What the stack sends to its own address comes back a turn later (never inside `send`), in
 * batches followed by one `flush()`; a daemon on it serves clients that talk to each other through
 * its one stack. Segments are copied into a ring of reused buffers (no allocation per segment
 * once warm), at most `queueBytes` waiting.
 */
export class MemoryLoopback implements NetworkLayer {
  readonly localAddress: number;
  readonly stats: MemoryLoopbackStats = { delivered: 0, queueFull: 0, notLocal: 0 };
  private receiver: NetworkReceiver | undefined;
  private readonly clock: Clock;
  private readonly mtu: number;
  private readonly queueBytes: number;
  private slots: Uint8Array[] = [];
  private lengths: number[] = [];
  private protocols: number[] = [];
  private head = 0;
  private count = 0;
  private bytes = 0;
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(options: { address?: string; mtu?: number; clock?: Clock; queueBytes?: number } = {}) {
    const address = parseIpv4(options.address ?? "10.0.0.1");
    if (address === undefined)
      throw new TypeError(`MemoryLoopback: address "${options.address}" is not a dotted IPv4 address.`);
    this.localAddress = address;
    this.mtu = options.mtu ?? 65535;
    this.clock = options.clock ?? realClock();
    this.queueBytes = options.queueBytes ?? 16 * 1024 * 1024;
  }

  /** The largest segment: the MTU less the IPv4 header the segment would travel in. */
  pathMtu(): number {
    return this.mtu - 20;
  }

  send(destination: number, protocol: number, segment: Uint8Array): void {
    if (this.closed) return;
    if (destination !== this.localAddress) {
      this.stats.notLocal++;
      return;
    }
    if (this.bytes + segment.length > this.queueBytes) {
      this.stats.queueFull++;
      return;
    }
    if (this.count === this.slots.length) this.grow();
    const i = (this.head + this.count) % this.slots.length;
    if (this.slots[i]!.length < segment.length)
      this.slots[i] = new Uint8Array(Math.max(2048, segment.length));
    this.slots[i]!.set(segment);
    this.lengths[i] = segment.length;
    this.protocols[i] = protocol;
    this.count++;
    this.bytes += segment.length;
    this.timer ??= this.clock.setTimer(this.clock.now(), this.deliver);
  }

  attach(receiver: NetworkReceiver): void {
    this.receiver = receiver;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.count = 0;
  }

  private grow(): void {
    // Unroll the ring into a larger one, oldest first.
    const n = Math.max(64, this.slots.length * 2);
    const order = Array.from({ length: this.slots.length }, (_, k) => (this.head + k) % this.slots.length);
    const slots = order.map((k) => this.slots[k]!);
    const lengths = order.map((k) => this.lengths[k]!);
    const protocols = order.map((k) => this.protocols[k]!);
    while (slots.length < n) {
      slots.push(new Uint8Array(2048));
      lengths.push(0);
      protocols.push(0);
    }
    this.slots = slots;
    this.lengths = lengths;
    this.protocols = protocols;
    this.head = 0;
  }

  private readonly deliver = (): void => {
    this.timer = undefined;
    const rx = this.receiver;
    // What is queued now goes out in this batch; what the stack sends meanwhile waits for the next.
    let n = this.count;
    while (n-- > 0 && !this.closed) {
      const i = this.head;
      const len = this.lengths[i]!;
      // The slot stays counted while lent, so a send during `receive` cannot overwrite it.
      rx?.receive(this.localAddress, this.localAddress, this.protocols[i]!, this.slots[i]!.subarray(0, len));
      this.head = (this.head + 1) % this.slots.length; // `grow` during the call may have moved it
      this.count--;
      this.bytes -= len;
      this.stats.delivered++;
    }
    rx?.flush();
  };
}
