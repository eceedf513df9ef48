import net from "node:net";
import { decodeIpv4, formatIpv4, IpProtocol } from "@userstack/ipv4";
import type { Link, Receiver } from "@userstack/link";
import type { Stack, UserstackServer, UserstackSocket } from "@userstack/sockets";
import { decodeTcp, TcpFlag } from "@userstack/tcp";
import { DecodeError } from "@userstack/wire";
import { type SpliceCounts, splice } from "./splice.js";

/** How long a host connection waits for the guest to finish its handshake before it is dropped. */
const HANDSHAKE_WAIT_MS = 10_000;
/** Connections being opened toward the host at once; further SYNs are dropped (the guest retries). */
const MAX_PENDING = 256;

/** One guest connection carried to the host. */
export interface ProxiedFlow {
  /** The guest's end, e.g. 10.0.2.15:40312. */
  guest: { address: string; port: number };
  /** The host port it reaches (on the host address). */
  hostPort: number;
  counts: SpliceCounts;
}

interface Pending {
  key: string;
  syn: Uint8Array;
  hostPort: number;
  host?: net.Socket;
  timer?: NodeJS.Timeout;
}

/**
 * The guest-to-host half of slirp: a connection the guest opens to the gateway's address (10.0.2.2,
 * slirp's alias for the host) on any port is carried to that port of the host address
 * (127.0.0.1) by a real `net` connection.
 *
 * It sits on the gateway stack's link and watches for SYNs to the gateway. Like slirp, it answers
 * the guest only once the host answered: the SYN is held while the real connection opens; then a
 * listener appears on the gateway for that port, the SYN is handed to the gateway stack, and the
 * accepted userstack connection is spliced to the real one. When the host refuses, the SYN reaches
 * a gateway with no listener, which resets it — so the guest sees ECONNREFUSED, as it would from the
 * real host.
 */
export class HostAlias implements Link {
  private receiver: Receiver | undefined;
  private stack: Stack | undefined;
  /** Guest connections (by "address:port>hostPort") whose host connection is opening. */
  private readonly opening = new Map<string, Pending>();
  /** Guest connections whose SYN went to the gateway stack, waiting for accept. */
  private readonly handedOver = new Map<string, Pending>();
  /** Listeners on the gateway by port, with how many handed-over SYNs still need them. */
  private readonly listeners = new Map<number, { server: UserstackServer; users: number }>();
  private readonly flowSet = new Set<ProxiedFlow & { sockets: [net.Socket, net.Socket] }>();
  private closed = false;

  constructor(
    private readonly inner: Link,
    /** The gateway's address: SYNs to it are carried to the host. */
    private readonly gatewayAddress: number,
    /** The real address the gateway stands for. */
    private readonly hostAddress: string,
  ) {}

  /** Gives the alias the gateway stack it listens on (once the stack exists on this link). */
  bind(stack: Stack): void {
    this.stack = stack;
  }

  get medium() {
    return this.inner.medium;
  }
  get mtu() {
    return this.inner.mtu;
  }

  send(frame: Uint8Array): void {
    this.inner.send(frame);
  }

  attach(receiver: Receiver): void {
    this.receiver = receiver;
    this.inner.attach({ receive: (f) => this.inspect(f), flush: () => receiver.flush() });
  }

  /** The connections being carried now. */
  flows(): ProxiedFlow[] {
    return [...this.flowSet].map(({ guest, hostPort, counts }) => ({ guest, hostPort, counts }));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of [...this.opening.values(), ...this.handedOver.values()]) this.drop(p);
    for (const f of this.flowSet) for (const s of f.sockets) s.destroy();
    for (const { server } of this.listeners.values()) server.close();
    this.listeners.clear();
    await this.inner.close();
  }

  private inspect(frame: Uint8Array): void {
    const r = this.receiver;
    if (r === undefined) return;
    // Cheap test first: IPv4, TCP, SYN without ACK. Everything else passes untouched.
    const ihl = (frame[0]! & 0x0f) * 4;
    if (frame.length < ihl + 20 || frame[0]! >> 4 !== 4 || frame[9] !== IpProtocol.Tcp) {
      r.receive(frame);
      return;
    }
    if ((frame[ihl + 13]! & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) !== TcpFlag.SYN) {
      r.receive(frame);
      return;
    }
    const ip = decodeIpv4(frame);
    if (ip instanceof DecodeError || ip.destination !== this.gatewayAddress) {
      r.receive(frame);
      return;
    }
    const tcp = decodeTcp(ip.payload);
    if (tcp instanceof DecodeError) {
      r.receive(frame); // the stack counts it as malformed
      return;
    }
    const key = `${formatIpv4(ip.source)}:${tcp.sourcePort}>${tcp.destinationPort}`;
    if (this.opening.has(key)) return; // a retransmitted SYN while the host connection opens
    if (this.handedOver.has(key) || this.closed) {
      r.receive(frame);
      return;
    }
    if (this.opening.size >= MAX_PENDING) return; // like a full SYN queue: the guest retries
    this.open({ key, syn: frame.slice(), hostPort: tcp.destinationPort });
  }

  private open(p: Pending): void {
    this.opening.set(p.key, p);
    const host = net.connect({ host: this.hostAddress, port: p.hostPort, allowHalfOpen: true });
    host.setNoDelay(true);
    const refused = () => {
      this.opening.delete(p.key);
      // No listener for this port: the gateway stack resets the SYN (ECONNREFUSED for the guest).
      // With one (another connection to the port is being handed over), drop it; the guest's
      // retransmission will find the port closed.
      if (!this.listeners.has(p.hostPort)) this.handOver(p.syn);
    };
    host.once("error", refused);
    host.once("connect", () => {
      host.off("error", refused);
      this.opening.delete(p.key);
      if (this.closed || this.stack === undefined) {
        host.destroy();
        return;
      }
      p.host = host;
      host.pause();
      host.on("error", () => this.drop(p));
      this.listen(p.hostPort);
      this.handedOver.set(p.key, p);
      p.timer = setTimeout(() => this.drop(p), HANDSHAKE_WAIT_MS);
      this.handOver(p.syn);
    });
  }

  private handOver(syn: Uint8Array): void {
    this.receiver?.receive(syn);
    this.receiver?.flush();
  }

  private listen(port: number): void {
    const l = this.listeners.get(port);
    if (l !== undefined) {
      l.users++;
      return;
    }
    const server = this.stack!.createServer({ allowHalfOpen: true, noDelay: true }, (s) =>
      this.accepted(port, s),
    );
    server.on("error", () => {}); // a port the gateway uses already: the SYN is answered by what owns it
    server.listen(port);
    this.listeners.set(port, { server, users: 1 });
  }

  private release(port: number): void {
    const l = this.listeners.get(port);
    if (l === undefined || --l.users > 0) return;
    this.listeners.delete(port);
    l.server.close();
  }

  private accepted(port: number, guest: UserstackSocket): void {
    const key = `${guest.remoteAddress}:${guest.remotePort}>${port}`;
    const p = this.handedOver.get(key);
    if (p === undefined || p.host === undefined) {
      guest.resetAndDestroy();
      return;
    }
    this.handedOver.delete(key);
    clearTimeout(p.timer);
    this.release(port);
    const host = p.host;
    host.removeAllListeners("error");
    const flow = {
      guest: { address: guest.remoteAddress ?? "", port: guest.remotePort ?? 0 },
      hostPort: port,
      counts: { forward: 0, backward: 0 },
      sockets: [guest as unknown as net.Socket, host] as [net.Socket, net.Socket],
    };
    this.flowSet.add(flow);
    void splice(guest, host, flow.counts).then(() => this.flowSet.delete(flow));
    host.resume();
  }

  private drop(p: Pending): void {
    clearTimeout(p.timer);
    if (this.handedOver.delete(p.key)) this.release(p.hostPort);
    this.opening.delete(p.key);
    p.host?.destroy();
  }
}
