import type { Socket } from "node:net";
import type { Transport, TransportReceiver } from "./transport.js";

/** A {@link Transport} over a connected stream socket (the daemon's UNIX socket). */
export class SocketTransport implements Transport {
  readonly transfers = false;
  private ended = false;

  constructor(readonly socket: Socket) {}

  allocate(n: number): Uint8Array {
    return Buffer.allocUnsafe(n);
  }

  /** Bytes handed to the socket and not yet written to the kernel. */
  queued(): number {
    return this.socket.writableLength;
  }

  /** Calls `cb` each time the socket's write queue empties. */
  onDrain(cb: () => void): void {
    this.socket.on("drain", cb);
  }

  send(batch: Uint8Array): void {
    if (!this.ended) this.socket.write(batch);
  }

  start(rx: TransportReceiver): void {
    let error: Error | undefined;
    this.socket.on("data", (b: Buffer) => rx.chunk(b));
    this.socket.on("error", (e) => {
      error ??= e;
    });
    this.socket.on("close", () => {
      this.ended = true;
      rx.end(error);
    });
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.socket.end();
    // A peer that never reads must not keep us waiting: give the end a moment, then cut.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }
}
