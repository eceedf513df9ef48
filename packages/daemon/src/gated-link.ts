import { decodeIpv4, IpProtocol, Ipv4View } from "@userstack/ipv4";
import type { Link, Receiver } from "@userstack/link";
import { decodeTcp, TcpView } from "@userstack/tcp";
import { DecodeError } from "@userstack/wire";
import type { SegmentGate } from "./segment-gate.js";
import { DebugEvents } from "./wire-format.js";

const ETHERNET_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;

/**
 * A {@link Link} (memory, TUN, TAP) with the debug channel's {@link SegmentGate} between it and the
 * stack: frames carrying an unfragmented IPv4 TCP segment are decoded (IPv4, then TCP, with the
 * project's codecs) and offered to the gate; anything else passes untouched.
 */
export class GatedLink implements Link {
  private readonly ip = new Ipv4View(new Uint8Array(0), 0, 0);
  private readonly tcp = new TcpView(new Uint8Array(0), 0);

  constructor(
    readonly inner: Link,
    private readonly gate: SegmentGate,
  ) {}

  get medium() {
    return this.inner.medium;
  }
  get mtu(): number {
    return this.inner.mtu;
  }
  get mac(): Uint8Array | undefined {
    return this.inner.mac;
  }

  send(frame: Uint8Array): void {
    if (!this.gate.active || !this.locate(frame, this.ip, this.tcp)) {
      this.inner.send(frame);
      return;
    }
    const now = this.gate.offer(
      DebugEvents.Outgoing,
      this.ip.source,
      this.ip.destination,
      this.tcp.bytes,
      frame,
      (f) => this.inner.send(f),
    );
    if (now) this.inner.send(frame);
  }

  attach(receiver: Receiver): void {
    const ip = new Ipv4View(new Uint8Array(0), 0, 0);
    const tcp = new TcpView(new Uint8Array(0), 0);
    this.inner.attach({
      receive: (frame) => {
        if (!this.gate.active || !this.locate(frame, ip, tcp)) {
          receiver.receive(frame);
          return;
        }
        const now = this.gate.offer(
          DebugEvents.Incoming,
          ip.source,
          ip.destination,
          tcp.bytes,
          frame,
          (f) => {
            receiver.receive(f);
            receiver.flush();
          },
        );
        if (now) receiver.receive(frame);
      },
      flush: () => receiver.flush(),
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Decodes the IPv4 TCP segment inside `frame` into the views; false when there is none. */
  private locate(frame: Uint8Array, ip: Ipv4View, tcp: TcpView): boolean {
    let at = 0;
    if (this.inner.medium === "ethernet") {
      if (frame.length < ETHERNET_HEADER || ((frame[12]! << 8) | frame[13]!) !== ETHERTYPE_IPV4) return false;
      at = ETHERNET_HEADER;
    }
    const v = decodeIpv4(frame, false, at, ip);
    if (v instanceof DecodeError || v.protocol !== IpProtocol.Tcp) return false;
    if (v.moreFragments || v.fragmentOffset !== 0) return false;
    return !(decodeTcp(v.payload, undefined, undefined, tcp) instanceof DecodeError);
  }
}
