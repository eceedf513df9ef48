/**
 * Bits of the event mask a connection or listener accumulates while it processes input, user calls
 * and timers; the glue reads and clears it with `takeEvents()` afterwards. The engine never calls
 * back into user code, so there is no re-entrancy to fear.
 */
export const TcpEvent = {
  /** Bytes (or the end of stream) can be read. */
  Readable: 0x01,
  /** Send buffer space opened up (data was acknowledged) or the connection became writable. */
  Writable: 0x02,
  /** The three-way handshake completed. */
  Established: 0x04,
  /** The peer sent FIN: after the readable bytes, read() reports the end of stream. */
  PeerFin: 0x08,
  /** The connection reached CLOSED; the glue drops it from its tables. */
  Closed: 0x10,
  /** The connection failed: see `error`. */
  Error: 0x20,
  /** Listener only: a completed connection waits in the accept queue. */
  Acceptable: 0x40,
} as const;
export type TcpEvent = (typeof TcpEvent)[keyof typeof TcpEvent];

/** Error codes a connection fails with, as Node's `net` reports them. */
export type TcpErrorCode =
  | "ECONNREFUSED"
  | "ECONNRESET"
  | "ETIMEDOUT"
  | "EHOSTUNREACH"
  | "ENETUNREACH"
  | "EPIPE"
  | "ECONNABORTED";

/** ICMP errors the glue can deliver to a connection (RFC 1122 §4.2.3.9, RFC 5927). */
export type TcpIcmpError =
  | "port-unreachable"
  | "protocol-unreachable"
  | "host-unreachable"
  | "net-unreachable"
  | "admin-prohibited"
  | "frag-needed";
