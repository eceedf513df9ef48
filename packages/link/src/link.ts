/**
 * What a link carries: Ethernet II frames (TAP, AF_PACKET, the in-memory switch) or bare IP
 * packets (TUN, point-to-point).
 */
export type Medium = "ethernet" | "ip";

/**
 * The stack's side of a link: the link calls `receive` once per incoming frame and `flush` after
 * each batch, so the stack can process a batch and then send its output once.
 */
export interface Receiver {
  /**
   * One incoming frame. The bytes are lent for the duration of the call: the link may reuse the
   * memory afterwards, so keep a copy (or only the parts copied into socket buffers).
   */
  receive(frame: Uint8Array): void;
  /** The end of a batch of `receive` calls. Links call it at least once per event-loop turn with traffic. */
  flush(): void;
}

/**
 * The contract every driver implements (memory pair, switch port, TAP, TUN, AF_PACKET) and every
 * wrapper (capture, faults) both consumes and implements.
 *
 * Ownership: `send(frame)` lends `frame` for the duration of the call only; a link that queues
 * must copy. This lets the stack build every outgoing frame in a reused buffer.
 */
export interface Link {
  readonly medium: Medium;
  /** The largest payload of the medium in bytes: the largest IP datagram (1500 on Ethernet). */
  readonly mtu: number;
  /** The link's own hardware address when it has one the stack must use (a TAP's MAC is chosen by the stack). */
  readonly mac?: Uint8Array;
  /** Sends one frame (Ethernet header included on an Ethernet medium). Never throws for a dropped frame. */
  send(frame: Uint8Array): void;
  /** Sends several frames; drivers that can batch (sendmmsg, one wake-up) implement it. */
  sendMany?(frames: readonly Uint8Array[]): void;
  /**
   * TCP segmentation offload (TSO/GSO): the largest IPv4 datagram carrying TCP that
   * {@link sendSegmented} takes, to be cut into segments below the MTU by the link (a TAP with a
   * virtio-net header hands it to the kernel, which segments it — or, delivering locally, does
   * not need to, as with GRO). Absent: no offload. Wrappers that must see the wire's frames
   * (capture, faults) do not offer it.
   */
  readonly segmentationOffload?: number;
  /**
   * Sends a frame whose TCP segment carries more than one MSS of payload: consecutive full-sized
   * segments of one connection, merged, with the first one's header. The link segments it at
   * `mss` payload bytes, incrementing sequence numbers and IPv4 identifications, and completes the
   * TCP checksums, whose field holds the pseudo-header sum of the whole (virtio-net's
   * NEEDS_CSUM convention; Linux's CHECKSUM_PARTIAL). Lent for the call, like {@link send}.
   */
  sendSegmented?(frame: Uint8Array, mss: number): void;
  /** Registers the receiver (one per link; a second call replaces the first). */
  attach(receiver: Receiver): void;
  /** Stops delivery and releases the device. Resolves when nothing more will be delivered. */
  close(): Promise<void>;
}

/** Sends `frames` through `link`, batching when the link can. */
export function sendAll(link: Link, frames: readonly Uint8Array[]): void {
  if (frames.length === 0) return;
  if (link.sendMany) link.sendMany(frames);
  else for (const f of frames) link.send(f);
}
