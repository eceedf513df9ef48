import type { NetworkLayer, NetworkReceiver } from "@userstack/link";
import { decodeTcp, TCP_PROTOCOL, TcpView } from "@userstack/tcp";
import { DecodeError } from "@userstack/wire";
import type { SegmentGate } from "./segment-gate.js";
import { DebugEvents } from "./wire-format.js";

/**
 * A {@link NetworkLayer} (the tunnel) with the debug channel's {@link SegmentGate} between it and
 * the stack: TCP segments both ways are decoded with the TCP codec and offered to the gate; a
 * malformed one passes untouched (the stack counts it).
 */
export class GatedNetwork implements NetworkLayer {
  private readonly view = new TcpView(new Uint8Array(0), 0);

  constructor(
    readonly inner: NetworkLayer,
    private readonly gate: SegmentGate,
  ) {}

  get localAddress(): number {
    return this.inner.localAddress;
  }

  pathMtu(destination: number): number {
    return this.inner.pathMtu(destination);
  }

  send(destination: number, protocol: number, segment: Uint8Array): void {
    if (
      !this.gate.active ||
      protocol !== TCP_PROTOCOL ||
      decodeTcp(segment, undefined, undefined, this.view) instanceof DecodeError
    ) {
      this.inner.send(destination, protocol, segment);
      return;
    }
    const now = this.gate.offer(DebugEvents.Outgoing, this.localAddress, destination, segment, segment, (s) =>
      this.inner.send(destination, protocol, s),
    );
    if (now) this.inner.send(destination, protocol, segment);
  }

  attach(receiver: NetworkReceiver): void {
    const gate = this.gate;
    const view = new TcpView(new Uint8Array(0), 0);
    this.inner.attach({
      receive(source, destination, protocol, segment) {
        if (
          !gate.active ||
          protocol !== TCP_PROTOCOL ||
          decodeTcp(segment, undefined, undefined, view) instanceof DecodeError
        ) {
          receiver.receive(source, destination, protocol, segment);
          return;
        }
        const now = gate.offer(DebugEvents.Incoming, source, destination, segment, segment, (s) => {
          receiver.receive(source, destination, protocol, s);
          receiver.flush();
        });
        if (now) receiver.receive(source, destination, protocol, segment);
      },
      flush: () => receiver.flush(),
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
