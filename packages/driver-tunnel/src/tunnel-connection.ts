import type { Socket } from "node:net";
import { CHITCP_HEADER_LENGTH, writeChitcpHeader } from "./chitcp-header.js";
import { FrameReader, type StreamFault } from "./frame-reader.js";

/** Output is gathered into buffers of this size and written once per turn of the event loop. */
const CHUNK = 256 * 1024;

/** What a {@link TunnelConnection} reports to its tunnel. */
export interface ConnectionEvents<P> {
  /** One frame, its payload lent for the call. */
  frame(conn: TunnelConnection<P>, protocol: number, payload: Uint8Array): void;
  /** The end of the frames of one chunk read from the socket. */
  batchEnd(conn: TunnelConnection<P>): void;
  /** The stream broke the protocol; the connection is already being destroyed. */
  fault(conn: TunnelConnection<P>, fault: StreamFault | "truncated"): void;
  /** The socket is closed; `error` when it failed. */
  closed(conn: TunnelConnection<P>, error: (Error & { code?: string }) | undefined): void;
  /** A dialed socket finished connecting. */
  connected(conn: TunnelConnection<P>): void;
}

/**
 * One real TCP connection between two tunnel endpoints: frames segments into chiTCP frames on the
 * way out, gathering everything sent during one synchronous run into one socket write, and splits
 * the incoming stream into frames with a {@link FrameReader}. `P` is the tunnel's peer type.
 */
export class TunnelConnection<P> {
  /** The peer this connection belongs to; unknown for an accepted connection until its hello (userstack mode). */
  peer: P | undefined;
  /** True once the socket is connected (accepted connections start connected). */
  established: boolean;
  /** True once the connection is closing or closed: nothing more is written. */
  ending = false;
  /** True once the socket has closed. */
  closedDown = false;
  /** Why this side ended or destroyed it, for logs. */
  reason: string | undefined;
  /** True once frames (not just the hello) have been handed to the socket. */
  sentFrames = false;
  /** While true, frames are queued but not handed to the socket (see {@link release}). */
  private gated = false;
  private readonly reader: FrameReader;
  private out: Buffer | undefined;
  /** Filled output buffers waiting for the socket to connect (a dialed connection writes nothing before). */
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private base = 0;
  private used = 0;
  private flushQueued = false;
  private error: (Error & { code?: string }) | undefined;

  constructor(
    readonly socket: Socket,
    /** True when this side dialed. */
    readonly dialed: boolean,
    /** The far end's real IPv4 address. */
    readonly remoteAddress: number,
    maxPayload: number,
    allowHello: boolean,
    /** Refuse writes once this many bytes wait in the socket (memory stays bounded; the segment is lost). */
    private readonly maxBuffered: number,
    private readonly events: ConnectionEvents<P>,
  ) {
    this.established = !dialed;
    this.reader = new FrameReader(maxPayload, allowHello);
    socket.setNoDelay(true); // frames are already gathered per turn; Nagle would only add delay
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("error", (e: Error & { code?: string }) => {
      this.error ??= e;
    });
    socket.on("close", () => {
      this.closedDown = true;
      this.ending = true;
      this.events.closed(this, this.error);
    });
    if (dialed)
      socket.once("connect", () => {
        this.established = true;
        this.flush();
        this.events.connected(this);
      });
  }

  /** Bytes accepted but not yet handed to the kernel. */
  get buffered(): number {
    return this.socket.writableLength + this.heldBytes + (this.used - this.base);
  }

  /** Queues one frame; false when the connection is ending or too much is already waiting. */
  write(protocol: number, payload: Uint8Array): boolean {
    if (this.ending) return false;
    const need = CHITCP_HEADER_LENGTH + payload.length;
    if (this.buffered + need > this.maxBuffered) return false;
    if (!this.out || this.used + need > this.out.length) {
      this.flush();
      if (this.out && this.used > this.base) {
        // Not connected yet: keep the filled part for later.
        this.held.push(this.out.subarray(this.base, this.used));
        this.heldBytes += this.used - this.base;
      }
      this.out = Buffer.allocUnsafe(Math.max(CHUNK, need));
      this.base = this.used = 0;
    }
    const p = writeChitcpHeader(this.out, this.used, payload.length, protocol);
    this.out.set(payload, p);
    this.used = p + payload.length;
    if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(this.flushTick);
    }
    return true;
  }

  /** Writes bytes that are already framed (the hello) straight to the socket, ahead of anything queued. */
  writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /**
   * Takes back the frames queued and not yet handed to the socket (a dialed connection holds them
   * until it is connected), already framed. Used when this connection loses to a simultaneous one,
   * so they go out, in order, on the connection that is kept.
   */
  takeQueued(): Uint8Array[] {
    const q = this.held;
    if (this.out && this.used > this.base) q.push(this.out.subarray(this.base, this.used));
    this.held = [];
    this.heldBytes = 0;
    this.out = undefined;
    this.base = this.used = 0;
    return q;
  }

  /** Queues frames taken from another connection with {@link takeQueued}, ahead of anything this one queued later. */
  writeFramed(chunks: readonly Uint8Array[]): void {
    if (this.ending) return;
    if (this.out && this.used > this.base) {
      this.held.push(this.out.subarray(this.base, this.used));
      this.heldBytes += this.used - this.base;
      this.base = this.used;
    }
    const mine = this.held;
    this.held = [...chunks, ...mine];
    for (const c of chunks) this.heldBytes += c.length;
    this.flush();
  }

  /** Sends what is queued, then a FIN; reading goes on until the far end closes too. */
  end(reason: string): void {
    if (this.ending) return;
    this.reason = reason;
    this.flush(true);
    this.ending = true;
    this.socket.end();
  }

  /** Drops the connection at once (RST when data is unread), discarding what is queued. */
  destroy(reason: string): void {
    this.reason ??= reason;
    this.ending = true;
    this.out = undefined;
    this.held = [];
    this.heldBytes = 0;
    this.base = this.used = 0;
    this.socket.destroy();
  }

  private readonly flushTick = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  /**
   * Holds queued frames back until {@link release}: used when the peer must first read to the end
   * of another connection that carried earlier frames, so that order is kept across the switch.
   */
  hold(): void {
    this.gated = true;
  }

  /** Ends {@link hold} and sends what waited. */
  release(): void {
    if (!this.gated) return;
    this.gated = false;
    this.flush();
  }

  /** Hands queued frames to the socket; a dialed one keeps them until connected, a held one until released, unless `force`. */
  private flush(force = false): void {
    if ((!this.established || this.gated) && !force) return;
    if (this.socket.destroyed) return;
    if (this.held.length > 0) this.sentFrames = true;
    for (const c of this.held) this.socket.write(c);
    this.held = [];
    this.heldBytes = 0;
    if (this.out && this.used > this.base) {
      this.sentFrames = true;
      // The socket keeps this view until written; later frames go after it in the same buffer.
      this.socket.write(this.out.subarray(this.base, this.used));
      this.base = this.used;
    }
  }

  private frames = 0;
  private readonly onFrame = (protocol: number, payload: Uint8Array): void => {
    if (this.socket.destroyed) return;
    this.frames++;
    this.events.frame(this, protocol, payload);
  };

  private readonly onData = (chunk: Buffer): void => {
    // Hand segments up as plain Uint8Array views: on a Buffer, `slice()` does not copy, and a
    // receiver keeping `segment.slice()` (the usual way to keep a Uint8Array) would keep a view.
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    this.frames = 0;
    const fault = this.reader.push(bytes, this.onFrame);
    if (this.frames > 0) this.events.batchEnd(this);
    if (fault && !this.socket.destroyed) {
      this.destroy(fault);
      this.events.fault(this, fault);
    }
  };

  private readonly onEnd = (): void => {
    if (this.reader.pending > 0) {
      this.destroy("truncated");
      this.events.fault(this, "truncated");
      return;
    }
    // The far end finished: finish ours (a half-open tunnel carries nothing useful).
    if (!this.ending) this.end("closed by peer");
  };
}
