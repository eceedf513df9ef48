import type { ListenerHandle, ListenerOwner } from "@userstack/sockets";
import type { RemoteEndpoint } from "./remote-endpoint.js";

/**
 * A listening port of a stack in another process or thread. The daemon answers a listen
 * asynchronously, so {@link ready} resolves once the port listens (`localPort` is then final, also
 * for port 0) or rejects with the error (EADDRINUSE…). Accepted connections arrive ahead of
 * `accept()` calls, up to the backlog, and wait in {@link queue}.
 */
export class RemoteListener implements ListenerHandle {
  owner: ListenerOwner | undefined = undefined;
  localAddress: number;
  localPort: number;
  readonly ready: Promise<void>;
  /** @internal Connections accepted by the daemon and not yet by the application. */
  readonly queue: RemoteEndpoint[] = [];
  /** @internal */
  closed = false;
  /** @internal True once `ready` settled. */
  settled = false;
  private settle!: { resolve(): void; reject(e: Error): void };

  constructor(
    readonly handle: number,
    address: number,
    port: number,
    /** @internal The read window of its accepted connections. */
    readonly readWindow: number,
  ) {
    this.localAddress = address;
    this.localPort = port;
    this.ready = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.ready.catch(() => undefined); // the faces observe it; unobserved, it must not crash the process
  }

  /** @internal */
  onListening(address: number, port: number): void {
    this.localAddress = address;
    this.localPort = port;
    this.settled = true;
    this.settle.resolve();
  }

  /** @internal The listen failed, or the stack went away later. */
  fail(error: Error): void {
    this.closed = true;
    if (!this.settled) {
      this.settled = true;
      this.settle.reject(error);
      return;
    }
    try {
      this.owner?.onListenerError?.(error);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }
}
