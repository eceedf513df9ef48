import type { SocketErrorCode } from "@userstack/sockets";

/**
 * The userstackd protocol, version 1. One protocol, two transports: a UNIX stream socket (the
 * daemon) and a MessagePort (a stack in a worker thread) carry the same bytes.
 *
 * Every message is a 4-byte big-endian length L followed by L bytes of body; the body starts with
 * a one-byte {@link MessageType}, then fixed-width big-endian fields at the offsets of {@link F}.
 * A trailing variable part (bytes, UTF-8 text or JSON) runs to the end of the body. The README's
 * "Protocol" section lists every message with its fields and says how the credits work.
 */
export const PROTOCOL_VERSION = 1;

/** Bytes of the length prefix. */
export const LENGTH_PREFIX = 4;

/** The longest body accepted; a longer announced length is a protocol violation. */
export const MAX_MESSAGE = 1 << 20;

/** The most payload one Write or Data message carries (a writer splits larger runs). */
export const MAX_DATA = 256 * 1024;

/** Handles the daemon allocates (accepted connections) have this bit set; the client's never do. */
export const DAEMON_HANDLE = 0x8000_0000;

/** Message types: client → daemon below 0x80, daemon → client from 0x80. */
export const MessageType = {
  Hello: 0x01,
  Open: 0x02,
  Listen: 0x03,
  Unlisten: 0x04,
  Write: 0x05,
  ReadCredit: 0x06,
  Shutdown: 0x07,
  Close: 0x08,
  Abort: 0x09,
  SetOption: 0x0a,
  AcceptCredit: 0x0b,
  Status: 0x0c,
  Stats: 0x0d,
  DebugSubscribe: 0x10,
  DebugUnsubscribe: 0x11,
  DebugVerdict: 0x12,
  DebugRelease: 0x13,

  Welcome: 0x81,
  Opened: 0x82,
  Listening: 0x83,
  Accepted: 0x84,
  Data: 0x85,
  SendCredit: 0x86,
  Event: 0x87,
  Failed: 0x88,
  StatusReply: 0x89,
  StatsReply: 0x8a,
  DebugSegment: 0x90,
  DebugState: 0x91,
  Goodbye: 0xff,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/**
 * Field offsets inside a body (the type byte is at 0), and each fixed part's length (`end`: the
 * smallest valid body; a shorter one is a protocol violation).
 */
export const F = {
  hello: { version: 1, pid: 3, end: 7 },
  welcome: { version: 1, address: 3, pid: 7, sendBuffer: 11, receiveBuffer: 15, end: 19 },
  /** Open and Listen share a layout; `json` is a TcpConfig subset, `jsonLength` bytes of UTF-8. */
  open: { handle: 1, address: 5, remotePort: 9, localPort: 11, readWindow: 13, jsonLength: 17, json: 19 },
  listen: { handle: 1, address: 5, port: 9, backlog: 11, readWindow: 13, jsonLength: 17, json: 19 },
  /** Unlisten, Shutdown, Close, Abort, Status. */
  handle: { handle: 1, end: 5 },
  /** Write (client → daemon) and Data (daemon → client): the payload runs to the end. */
  data: { handle: 1, bytes: 5 },
  /** ReadCredit and AcceptCredit. */
  credit: { handle: 1, count: 5, end: 9 },
  setOption: { handle: 1, option: 5, value: 6, idleMs: 7, end: 11 },
  /** Stats and StatsReply: a request id; the reply's JSON runs to the end. */
  request: { id: 1, json: 5, end: 5 },
  opened: { handle: 1, address: 5, port: 9, end: 11 },
  listening: { handle: 1, address: 5, port: 9, end: 11 },
  accepted: {
    listener: 1,
    handle: 5,
    localAddress: 9,
    localPort: 13,
    remoteAddress: 15,
    remotePort: 19,
    state: 21,
    sendCredit: 22,
    end: 26,
  },
  sendCredit: { handle: 1, credit: 5, sendQueued: 9, received: 13, end: 17 },
  event: { handle: 1, events: 5, state: 6, error: 7, sendQueued: 8, received: 12, end: 16 },
  /** Failed: the UTF-8 hint runs to the end. */
  failed: { handle: 1, error: 5, hint: 6, end: 6 },
  /** StatusReply: a TcpStatus as JSON runs to the end ("null" when the handle is unknown). */
  statusReply: { handle: 1, json: 5, end: 5 },
  debugSubscribe: {
    subscription: 1,
    remoteAddress: 5,
    localPort: 9,
    remotePort: 11,
    events: 13,
    intercept: 14,
    end: 15,
  },
  debugUnsubscribe: { subscription: 1, end: 5 },
  debugVerdict: { event: 1, action: 5, end: 6 },
  debugRelease: { event: 1, end: 5 },
  /** DebugSegment: the TCP segment (header and payload) runs to the end. */
  debugSegment: { subscription: 1, event: 5, direction: 9, source: 10, destination: 14, segment: 18 },
  debugState: {
    subscription: 1,
    localAddress: 5,
    localPort: 9,
    remoteAddress: 11,
    remotePort: 15,
    from: 17,
    to: 18,
    end: 19,
  },
  /** Goodbye: a reason code, then UTF-8 text to the end. */
  goodbye: { reason: 1, text: 2, end: 2 },
} as const;

/** SetOption's option numbers. */
export const SocketOptionCode = { NoDelay: 1, KeepAlive: 2 } as const;

/** Goodbye reasons. */
export const GoodbyeReason = {
  /** The client speaks another protocol version. */
  Version: 1,
  /** A malformed message, a message before Hello, data beyond credit, too many handles. */
  Violation: 2,
  /** The daemon is shutting down (SIGINT/SIGTERM). */
  Shutdown: 3,
} as const;

/** What a debug subscriber wants to see: a bitmask. */
export const DebugEvents = { State: 1, Incoming: 2, Outgoing: 4 } as const;

/** A debug subscriber's answer to an intercepted segment. */
export const DebugAction = { Pass: 0, Drop: 1, Duplicate: 2, Withhold: 3 } as const;
export type DebugAction = (typeof DebugAction)[keyof typeof DebugAction];

/** RFC 9293 §3.3.2 state names, by their one-byte code (the order of the RFC's list). */
export const STATES = [
  "CLOSED",
  "LISTEN",
  "SYN-SENT",
  "SYN-RECEIVED",
  "ESTABLISHED",
  "FIN-WAIT-1",
  "FIN-WAIT-2",
  "CLOSE-WAIT",
  "CLOSING",
  "LAST-ACK",
  "TIME-WAIT",
] as const;

/** Node's error codes, by their one-byte code; 0 is "no error". */
export const ERROR_CODES: readonly (SocketErrorCode | undefined)[] = [
  undefined,
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EADDRINUSE",
  "EADDRNOTAVAIL",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "EINVAL",
  "ENOTCONN",
  "EISCONN",
  "EALREADY",
  "ESHUTDOWN",
];

/** The one-byte code of a state name (0, CLOSED, for a name not in the RFC's list). */
export function stateCode(state: string): number {
  const i = STATES.indexOf(state as (typeof STATES)[number]);
  return Math.max(i, 0);
}

/** The state name of a code; CLOSED for an unknown code. */
export function stateName(code: number): string {
  return STATES[code] ?? "CLOSED";
}

/** The one-byte code of an error (0 for none; EINVAL for a code outside the table). */
export function errorCode(code: string | undefined): number {
  if (code === undefined) return 0;
  const i = ERROR_CODES.indexOf(code as SocketErrorCode);
  return i < 0 ? 10 : i;
}

/** The error of a code; undefined for 0, EINVAL for an unknown code. */
export function errorName(code: number): SocketErrorCode | undefined {
  if (code === 0) return undefined;
  return ERROR_CODES[code] ?? "EINVAL";
}
