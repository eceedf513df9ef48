/** Error codes userstack sockets fail with: Node's `net` codes, so code written for Node handles them. */
export type SocketErrorCode =
  | "ECONNREFUSED"
  | "ECONNRESET"
  | "ECONNABORTED"
  | "ETIMEDOUT"
  | "EADDRINUSE"
  | "EADDRNOTAVAIL"
  | "EHOSTUNREACH"
  | "ENETUNREACH"
  | "EPIPE"
  | "EINVAL"
  | "ENOTCONN"
  | "EISCONN"
  | "EALREADY"
  | "ESHUTDOWN";

// Linux errno values, negated as libuv reports them (err.errno in Node).
const ERRNO: Record<SocketErrorCode, number> = {
  ECONNREFUSED: -111,
  ECONNRESET: -104,
  ECONNABORTED: -103,
  ETIMEDOUT: -110,
  EADDRINUSE: -98,
  EADDRNOTAVAIL: -99,
  EHOSTUNREACH: -113,
  ENETUNREACH: -101,
  EPIPE: -32,
  EINVAL: -22,
  ENOTCONN: -107,
  EISCONN: -106,
  EALREADY: -114,
  ESHUTDOWN: -108,
};

const TEXT: Record<SocketErrorCode, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by peer",
  ECONNABORTED: "connection aborted",
  ETIMEDOUT: "connection timed out",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available",
  EHOSTUNREACH: "no route to host",
  ENETUNREACH: "network is unreachable",
  EPIPE: "broken pipe",
  EINVAL: "invalid argument",
  ENOTCONN: "socket is not connected",
  EISCONN: "socket is already connected",
  EALREADY: "operation already in progress",
  ESHUTDOWN: "cannot send after socket shutdown",
};

/**
 * An error from a userstack socket, shaped like Node's system errors: `code` (`ECONNREFUSED`…),
 * `errno`, `syscall` (`connect`, `listen`, `write`…), and `address`/`port` where they apply. The
 * message reads like Node's: `connect ECONNREFUSED 10.0.0.2:80`.
 */
export class SocketError extends Error {
  readonly errno: number;
  constructor(
    readonly code: SocketErrorCode,
    readonly syscall: string,
    readonly address?: string,
    readonly port?: number,
    hint?: string,
  ) {
    const where = address === undefined ? "" : port === undefined ? ` ${address}` : ` ${address}:${port}`;
    super(`${syscall} ${code}${where}${hint ? ` (${hint})` : ` (${TEXT[code]})`}`);
    this.name = "SocketError";
    this.errno = ERRNO[code];
  }
}

/** A bad argument to a public call: one sentence saying what is wrong and what is expected. */
export class ArgumentError extends TypeError {
  readonly code = "ERR_INVALID_ARG_VALUE";
  constructor(message: string) {
    super(message);
    this.name = "ArgumentError";
  }
}
