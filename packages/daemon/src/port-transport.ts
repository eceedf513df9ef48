import type { MessagePort } from "node:worker_threads";
import type { Transport, TransportReceiver } from "./transport.js";

/**
 * A {@link Transport} over a MessagePort (a stack in a worker thread): each batch's ArrayBuffer is
 * transferred, not copied, and arrives as one chunk of whole messages.
 */
export class PortTransport implements Transport {
  readonly transfers = true;
  private ended = false;
  private rx: TransportReceiver | undefined;

  constructor(readonly port: MessagePort) {}

  allocate(n: number): Uint8Array {
    return new Uint8Array(new ArrayBuffer(n));
  }

  send(batch: Uint8Array): void {
    if (this.ended) return;
    this.port.postMessage(batch, [batch.buffer as ArrayBuffer]);
  }

  start(rx: TransportReceiver): void {
    this.rx = rx;
    this.port.on("message", (m: unknown) => {
      if (m instanceof Uint8Array) rx.chunk(m);
    });
    this.port.on("close", () => this.finish());
  }

  close(): void {
    this.port.close();
    this.finish();
  }

  /** The other end is gone (its thread exited); the port never says so itself in that case. */
  gone(error?: Error): void {
    this.finish(error);
  }

  private finish(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.rx?.end(error);
  }
}
