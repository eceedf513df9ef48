import { parseMac, randomMac } from "@userstack/ethernet";
import { formatIpv4, inSubnet, parseCidr, parseIpv4 } from "@userstack/ipv4";
import { type Clock, type Link, type NetworkLayer, realClock } from "@userstack/link";
import type { TcpConfig } from "@userstack/tcp";
import { BsdSocket } from "./bsd/bsd-socket.js";
import { ArgumentError } from "./errors.js";
import { LinkPath } from "./link-path.js";
import { NetworkLayerPath } from "./network-layer-path.js";
import { type ServerOptions, UserstackServer } from "./node/server.js";
import { type SocketConnectOptions, UserstackSocket } from "./node/socket.js";
import { addressArgument, portArgument } from "./parse.js";
import type { SocketHost } from "./socket-host.js";
import { StackCore, type StackLogEvent } from "./stack.js";
import { streamOf, type TcpStream } from "./web/tcp-stream.js";

/** What {@link createStack} takes. Give either `link` (with `ipv4`) or `network`. */
export interface StackOptions {
  /** The link the stack sends frames on (memory, TAP, TUN, AF_PACKET…), with `ipv4`. */
  link?: Link;
  /** Our address and prefix on the link, e.g. `"10.0.0.2/24"`. */
  ipv4?: string;
  /** Default gateway, e.g. `"10.0.0.1"`; without one only the link's subnet is reachable. */
  gateway?: string;
  /** Our MAC on an Ethernet link, e.g. `"02:00:00:00:00:02"`; random locally administered by default. */
  mac?: string | Uint8Array;
  /** A network layer used directly instead of IPv4 over a link (the chiTCP-style tunnel). */
  network?: NetworkLayer;
  /** Time: the real clock by default, a VirtualClock in tests. */
  clock?: Clock;
  /** TCP defaults for every connection (buffer sizes, congestion control, noDelay…). */
  tcp?: Partial<TcpConfig>;
  /** Receives state changes and drops; off by default. */
  logger?: (event: StackLogEvent) => void;
}

/**
 * The three socket faces over any {@link SocketHost}: a local stack, or (through the daemon's client
 * library) a stack in another process or thread. Node's (`createServer`, `connect`: objects that
 * behave like `net.Server`/`net.Socket`), WHATWG streams (`openStream`, `listenStream`) and
 * BSD-style promises (`socket()`).
 */
export interface SocketFaces {
  createServer(listener?: (socket: UserstackSocket) => void): UserstackServer;
  createServer(options?: ServerOptions, listener?: (socket: UserstackSocket) => void): UserstackServer;
  connect(options: ConnectOptions, listener?: () => void): UserstackSocket;
  connect(port: number, host?: string, listener?: () => void): UserstackSocket;
  createConnection(options: ConnectOptions, listener?: () => void): UserstackSocket;
  createConnection(port: number, host?: string, listener?: () => void): UserstackSocket;
  socket(): BsdSocket;
  openStream(options: { host: string; port: number; tcp?: Partial<TcpConfig> }): TcpStream;
  listenStream(options: { port: number; host?: string; backlog?: number }): {
    connections: ReadableStream<TcpStream>;
    close(): Promise<void>;
  };
}

/** `net.connect`'s options plus allowHalfOpen. */
export type ConnectOptions = SocketConnectOptions & { allowHalfOpen?: boolean };

function connect(
  this: SocketHost,
  a: number | ConnectOptions,
  b?: string | (() => void),
  c?: () => void,
): UserstackSocket {
  const allowHalfOpen = typeof a === "object" ? a.allowHalfOpen : undefined;
  const s = new UserstackSocket(this, { allowHalfOpen });
  if (typeof a === "object") s.connect(a, b as (() => void) | undefined);
  else s.connect(a, b as string, c);
  return s;
}

/**
 * The {@link SocketFaces} methods, written against `this: SocketHost`, so any host class gets them
 * with {@link installSocketFaces}.
 */
const faceMethods = {
  createServer(
    this: SocketHost,
    a?: ServerOptions | ((socket: UserstackSocket) => void),
    b?: (socket: UserstackSocket) => void,
  ): UserstackServer {
    return typeof a === "function" ? new UserstackServer(this, {}, a) : new UserstackServer(this, a ?? {}, b);
  },
  connect,
  createConnection: connect,
  socket(this: SocketHost): BsdSocket {
    return new BsdSocket(this);
  },
  openStream(this: SocketHost, options: { host: string; port: number; tcp?: Partial<TcpConfig> }): TcpStream {
    const s = new BsdSocket(this);
    if (options.tcp?.noDelay) s.setOption("noDelay", true);
    return streamOf(s, s.connect(options.host, options.port));
  },
  listenStream(this: SocketHost, options: { port: number; host?: string; backlog?: number }) {
    const s = new BsdSocket(this);
    const ready = s
      .bind(portArgument(options.port, "listenStream(): port", true), options.host)
      .then(() => s.listen(options.backlog));
    const connections = new ReadableStream<TcpStream>(
      {
        async pull(controller) {
          await ready;
          try {
            const c = await s.accept();
            controller.enqueue(streamOf(c, Promise.resolve()));
          } catch {
            controller.close();
          }
        },
        async cancel() {
          await s.close();
        },
      },
      { highWaterMark: 0 },
    );
    return { connections, close: () => s.close() };
  },
};

/** Gives a {@link SocketHost} class the socket faces (declare the {@link SocketFaces} members in it). */
export function installSocketFaces(proto: SocketHost): void {
  Object.assign(proto, faceMethods);
}

/**
 * A userstack TCP/IP stack: create it with {@link createStack}, then use any of three socket faces —
 * Node's (`createServer`, `connect`: objects that behave like `net.Server`/`net.Socket`), WHATWG
 * streams (`openStream`, `listenStream`), or BSD-style promises (`socket()`).
 */
export class Stack extends StackCore implements SocketFaces {
  /** A `net.Server` look-alike: `stack.createServer((socket) => …).listen(80)`. */
  declare createServer: SocketFaces["createServer"];
  /** `net.connect` look-alike: `stack.connect(80, "10.0.0.2", () => …)` or `stack.connect({ port, host })`. */
  declare connect: SocketFaces["connect"];
  /** Alias of {@link connect}, as `net.createConnection`. */
  declare createConnection: SocketFaces["createConnection"];
  /** A BSD-style socket: `bind`, `listen`, `accept`, `connect`, `send`, `recv`, `shutdown`, `close`. */
  declare socket: SocketFaces["socket"];
  /** Opens a connection as WHATWG streams. */
  declare openStream: SocketFaces["openStream"];
  /** Listens and yields each accepted connection as WHATWG streams. */
  declare listenStream: SocketFaces["listenStream"];

  /** Our IPv4 address as text. */
  get address(): string {
    return formatIpv4(this.localAddress);
  }
}
installSocketFaces(Stack.prototype);

/**
 * Builds a stack on a link or a network layer:
 *
 * ```ts
 * const [a, b] = memoryPair({ medium: "ip" });
 * const server = createStack({ link: a, ipv4: "10.0.0.1/24" });
 * const client = createStack({ link: b, ipv4: "10.0.0.2/24" });
 * server.createServer((s) => s.pipe(s)).listen(7);
 * client.connect(7, "10.0.0.1").end("hello").on("data", (d) => console.log(String(d)));
 * ```
 */
export function createStack(options: StackOptions): Stack {
  if (options === null || typeof options !== "object") {
    throw new ArgumentError(
      "createStack() takes an options object: { link, ipv4: '10.0.0.2/24' } or { network }.",
    );
  }
  const { link, network, clock = realClock() } = options;
  if ((link === undefined) === (network === undefined)) {
    throw new ArgumentError("createStack() needs exactly one of `link` (with `ipv4`) or `network`.");
  }
  const stack = new Stack(clock, options.tcp, options.logger);
  if (network !== undefined) {
    stack.attachPath(new NetworkLayerPath(network, stack));
    return stack;
  }
  const cidr = options.ipv4 === undefined ? undefined : parseCidr(options.ipv4);
  if (cidr === undefined || cidr.prefix === 0) {
    throw new ArgumentError(
      `createStack(): ipv4 must be an address with a prefix length such as "10.0.0.2/24", got ${JSON.stringify(options.ipv4)}.`,
    );
  }
  const gateway =
    options.gateway === undefined ? undefined : addressArgument(options.gateway, "createStack(): gateway", 0);
  if (options.gateway !== undefined && parseIpv4(options.gateway) === undefined) {
    throw new ArgumentError(
      `createStack(): gateway must be an IPv4 address, got ${JSON.stringify(options.gateway)}.`,
    );
  }
  let mac: Uint8Array;
  if (options.mac === undefined) mac = link!.mac ?? randomMac();
  else if (typeof options.mac === "string") {
    const parsed = parseMac(options.mac);
    if (parsed === undefined) {
      throw new ArgumentError(
        `createStack(): mac must look like "02:00:00:00:00:02", got ${JSON.stringify(options.mac)}.`,
      );
    }
    mac = parsed;
  } else mac = options.mac;
  if (options.gateway !== undefined && gateway !== undefined && !inSubnet(gateway, cidr)) {
    throw new ArgumentError(
      `createStack(): the gateway ${options.gateway} is not inside ${options.ipv4}; it must be on the link.`,
    );
  }
  stack.attachPath(new LinkPath(link!, stack, { ipv4: cidr, gateway, mac }));
  return stack;
}
