import net from "node:net";
import type { Stack } from "@userstack/sockets";
import { type SpliceCounts, splice } from "./splice.js";

/** Host connections carried at once; further ones are closed on arrival by net.Server. */
const MAX_FLOWS = 4096;

/** One host connection being carried into the virtual network. */
export interface ForwardedFlow {
  /** The host program's end, e.g. curl at 127.0.0.1:53312. */
  host: { address: string; port: number };
  /** The gateway's end of the userstack connection (the guest sees it as its peer); 0 while connecting. */
  gatewayPort: number;
  /** Bytes carried host → guest and guest → host so far. */
  counts: SpliceCounts;
}

/**
 * slirp's hostfwd: a real `net.Server` on the host (127.0.0.1 by default) whose every accepted
 * connection is carried over a userstack TCP connection from the gateway stack to a port of the
 * guest stack. So `curl http://127.0.0.1:8080/` on the host reaches a server that only exists in
 * the user-space stack, and every byte crosses userstack's TCP.
 *
 * A guest that refuses (nothing listens on its port) resets the host connection; a reset on either
 * side resets the other; a FIN on either side is passed on (half-close works, as `nc -N` needs).
 */
export class HostForwarder {
  private readonly server: net.Server;
  private readonly flowSet = new Set<ForwardedFlow & { sockets: [net.Socket, net.Socket | undefined] }>();
  private boundPort = 0;

  constructor(
    private readonly gateway: Stack,
    /** The guest address and port connections go to. */
    readonly guest: { address: string; port: number },
    /** The host address and port to listen on (port 0: any free one). */
    readonly host: { address: string; port: number },
  ) {
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => this.carry(s));
    // Bounded like everything a peer can make us hold: beyond this, the kernel refuses for us.
    this.server.maxConnections = MAX_FLOWS;
  }

  /** Starts listening; rejects with one sentence when the port is taken or privileged. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        const where = `${this.host.address}:${this.host.port}`;
        if (e.code === "EADDRINUSE")
          reject(
            Object.assign(
              new Error(
                `${where} is already in use on this machine; choose another port with --forward <port>.`,
              ),
              { code: e.code },
            ),
          );
        else if (e.code === "EACCES")
          reject(
            Object.assign(
              new Error(
                `${where} is a privileged port (below 1024) and needs root; forward a port from 1024 up with --forward <port>.`,
              ),
              { code: e.code },
            ),
          );
        else reject(e);
      };
      this.server.once("error", onError);
      this.server.listen(this.host.port, this.host.address, () => {
        this.server.off("error", onError);
        this.boundPort = (this.server.address() as net.AddressInfo).port;
        resolve(this.boundPort);
      });
    });
  }

  /** The host port listened on (the real one when 0 was asked). */
  get port(): number {
    return this.boundPort;
  }

  /** The connections being carried now. */
  flows(): ForwardedFlow[] {
    return [...this.flowSet].map(({ host, gatewayPort, counts }) => ({ host, gatewayPort, counts }));
  }

  /** Stops listening and ends every carried connection with a FIN each way; bounded by `ms`. */
  async close(ms = 1000): Promise<void> {
    // net.Server.close() calls back once every accepted socket is gone, so end them first.
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const f of this.flowSet) for (const s of f.sockets) s?.end();
    const deadline = Date.now() + ms;
    while (this.flowSet.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const f of this.flowSet) for (const s of f.sockets) s?.destroy();
    await stopped;
  }

  private carry(hostSocket: net.Socket): void {
    // The "close" handler below takes the flow out; a socket that closed before we got here has
    // no address any more.
    if (hostSocket.remoteAddress === undefined) {
      hostSocket.destroy();
      return;
    }
    hostSocket.setNoDelay(true);
    const guestSocket = this.gateway.connect({
      host: this.guest.address,
      port: this.guest.port,
      noDelay: true,
      allowHalfOpen: true,
    }) as unknown as net.Socket;
    const flow = {
      host: { address: hostSocket.remoteAddress, port: hostSocket.remotePort ?? 0 },
      gatewayPort: 0,
      counts: { forward: 0, backward: 0 },
      sockets: [hostSocket, guestSocket] as [net.Socket, net.Socket],
    };
    this.flowSet.add(flow);
    const failed = () => {
      // Refused or unreachable in the virtual network: the host client sees a reset, as from a
      // closed port.
      hostSocket.resetAndDestroy();
      this.flowSet.delete(flow);
    };
    guestSocket.once("error", failed);
    guestSocket.once("connect", () => {
      guestSocket.off("error", failed);
      flow.gatewayPort = guestSocket.localPort ?? 0;
      void splice(hostSocket, guestSocket, flow.counts).then(() => this.flowSet.delete(flow));
      hostSocket.resume();
    });
    hostSocket.once("error", () => {
      if (guestSocket.connecting) guestSocket.destroy();
    });
  }
}
