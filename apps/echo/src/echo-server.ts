import type { BsdSocket, SocketAddress, Stack } from "@userstack/sockets";

/** Bytes asked of each recv(): a socket-buffer's worth, like a C program's `char buf[65536]`. */
const RECV_SIZE = 64 * 1024;

/** What an {@link EchoServer} reports about each client. */
export type EchoServerLog = (line: string) => void;

/**
 * The classic TCPEchoServer (Donahoo & Calvert) on userstack's BSD-style sockets: bind, listen,
 * then accept in a loop. Each client is served by its own task, so many are served at once:
 * receive, send back the same bytes, until the client closes its side, then close.
 *
 * ```ts
 * const server = await EchoServer.start(stack, 7, console.log);
 * // … later
 * await server.close();
 * ```
 */
export class EchoServer {
  private readonly clients = new Set<BsdSocket>();
  private closing = false;
  private readonly done: Promise<void>;
  /** Clients served to the end so far. */
  served = 0;

  private constructor(
    private readonly listening: BsdSocket,
    readonly port: number,
    private readonly log: EchoServerLog,
  ) {
    this.done = this.acceptLoop();
  }

  /** Binds `port` (0: any free one) on the stack and starts accepting. Rejects with EADDRINUSE… */
  static async start(stack: Stack, port: number, log: EchoServerLog = () => {}): Promise<EchoServer> {
    const s = stack.socket();
    await s.bind(port);
    await s.listen();
    return new EchoServer(s, s.localAddress().port, log);
  }

  /** Clients being served now. */
  get active(): number {
    return this.clients.size;
  }

  /** Stops accepting and closes every client's connection (FIN after what is queued). */
  async close(): Promise<void> {
    this.closing = true;
    await this.listening.close();
    await this.done;
    await Promise.all([...this.clients].map((c) => c.close()));
  }

  private async acceptLoop(): Promise<void> {
    while (!this.closing) {
      let client: BsdSocket;
      try {
        client = await this.listening.accept();
      } catch (e) {
        if (this.closing) return;
        this.log(`accept() failed: ${(e as Error).message}`);
        continue;
      }
      void this.handle(client);
    }
  }

  /** HandleTCPClient: echo until the client's end of stream, then close. */
  private async handle(client: BsdSocket): Promise<void> {
    this.clients.add(client);
    const peer = describe(client.remoteAddress());
    this.log(`Handling client ${peer}`);
    let echoed = 0;
    try {
      for (let b = await client.recv(RECV_SIZE); b.length > 0; b = await client.recv(RECV_SIZE)) {
        await client.send(b);
        echoed += b.length;
      }
      this.log(`Client ${peer} done: ${echoed} bytes echoed`);
    } catch (e) {
      if (!this.closing) this.log(`Client ${peer}: ${(e as Error).message} after ${echoed} bytes`);
    } finally {
      this.clients.delete(client);
      this.served++;
      await client.close();
    }
  }
}

function describe(a: SocketAddress): string {
  return `${a.address}:${a.port}`;
}
