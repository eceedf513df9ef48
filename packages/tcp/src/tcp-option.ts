import { put16, put32, u16, u32 } from "@userstack/wire";

/** TCP option kinds (IANA "TCP Option Kind Numbers"); other numbers stay numbers. */
export const TcpOptionKind = {
  /** End of option list (RFC 9293 §3.1). */
  EndOfList: 0,
  /** No-operation, used to align the next option (RFC 9293 §3.1). */
  NoOperation: 1,
  /** Maximum segment size, SYN only (RFC 9293 §3.7.1). */
  MaxSegmentSize: 2,
  /** Window scale shift, SYN only (RFC 7323 §2). */
  WindowScale: 3,
  /** SACK permitted, SYN only (RFC 2018 §2). */
  SackPermitted: 4,
  /** SACK blocks (RFC 2018 §3). */
  Sack: 5,
  /** Timestamps TSval/TSecr (RFC 7323 §3). */
  Timestamps: 8,
} as const;
export type TcpOptionKind = (typeof TcpOptionKind)[keyof typeof TcpOptionKind];

/** Total option lengths of the options with a fixed size. */
export const TCP_OPTION_LENGTH = { mss: 4, windowScale: 3, sackPermitted: 2, timestamps: 10 } as const;

/** Most SACK blocks that fit in 40 option bytes (2 + 8n ≤ 40). */
export const MAX_SACK_BLOCKS = 4;

/**
 * One TCP option, for building headers and for tools that list options. The engine's hot path
 * reads the parsed fields of `TcpView` instead, which cost no allocation.
 */
export type TcpOption =
  | { kind: 0 }
  | { kind: 1 }
  | { kind: 2; mss: number }
  | { kind: 3; shift: number }
  | { kind: 4 }
  /** `blocks` holds left/right edge pairs: [left0, right0, left1, right1, …]. */
  | { kind: 5; blocks: readonly number[] }
  | { kind: 8; tsVal: number; tsEcr: number }
  /** Any other kind, kept as its number and the bytes after the length byte. */
  | { kind: number; data: Uint8Array };

/** Bytes `opt` occupies on the wire. */
export function tcpOptionLength(opt: TcpOption): number {
  switch (opt.kind) {
    case 0:
    case 1:
      return 1;
    case 2:
      return 4;
    case 3:
      return 3;
    case 4:
      return 2;
    case 5:
      return 2 + 4 * (opt as { blocks: readonly number[] }).blocks.length;
    case 8:
      return 10;
    default:
      return 2 + (opt as { data: Uint8Array }).data.length;
  }
}

/** Bytes of `options` rounded up to a 32-bit boundary, as the data offset requires. */
export function tcpOptionsLength(options: readonly TcpOption[] | undefined): number {
  if (options === undefined) return 0;
  let n = 0;
  for (let i = 0; i < options.length; i++) n += tcpOptionLength(options[i]!);
  return (n + 3) & ~3;
}

/**
 * Writes `options` at `at` and zero-pads to the 32-bit boundary (RFC 9293 §3.1: "the header padding
 * is composed of zeros"). Returns the end offset.
 */
export function writeTcpOptions(options: readonly TcpOption[], out: Uint8Array, at: number): number {
  let p = at;
  for (let i = 0; i < options.length; i++) {
    const o = options[i]!;
    switch (o.kind) {
      case 0:
      case 1:
        out[p++] = o.kind;
        break;
      case 2:
        out[p] = 2;
        out[p + 1] = 4;
        put16(out, p + 2, (o as { mss: number }).mss);
        p += 4;
        break;
      case 3:
        out[p] = 3;
        out[p + 1] = 3;
        out[p + 2] = (o as { shift: number }).shift;
        p += 3;
        break;
      case 4:
        out[p] = 4;
        out[p + 1] = 2;
        p += 2;
        break;
      case 5: {
        const blocks = (o as { blocks: readonly number[] }).blocks;
        out[p] = 5;
        out[p + 1] = 2 + 4 * blocks.length;
        p += 2;
        for (let b = 0; b < blocks.length; b++, p += 4) put32(out, p, blocks[b]!);
        break;
      }
      case 8: {
        const ts = o as { tsVal: number; tsEcr: number };
        out[p] = 8;
        out[p + 1] = 10;
        put32(out, p + 2, ts.tsVal);
        put32(out, p + 6, ts.tsEcr);
        p += 10;
        break;
      }
      default: {
        const data = (o as { data: Uint8Array }).data;
        out[p] = o.kind;
        out[p + 1] = 2 + data.length;
        out.set(data, p + 2);
        p += 2 + data.length;
      }
    }
  }
  while ((p - at) & 3) out[p++] = 0;
  return p;
}

/**
 * The options of `header[from..to)` as a list, for tools and tests (it allocates; the engine reads
 * the fields `decodeTcp` parsed instead). Assumes options validated by `decodeTcp`. EOL ends the
 * list; the padding after it is not listed.
 */
export function listTcpOptions(header: Uint8Array, from: number, to: number): TcpOption[] {
  const list: TcpOption[] = [];
  let p = from;
  while (p < to) {
    const kind = header[p]!;
    if (kind === 0) {
      list.push({ kind: 0 });
      break;
    }
    if (kind === 1) {
      list.push({ kind: 1 });
      p++;
      continue;
    }
    const len = header[p + 1]!;
    switch (kind) {
      case 2:
        list.push({ kind: 2, mss: u16(header, p + 2) });
        break;
      case 3:
        list.push({ kind: 3, shift: header[p + 2]! });
        break;
      case 4:
        list.push({ kind: 4 });
        break;
      case 5: {
        const blocks: number[] = [];
        for (let q = p + 2; q < p + len; q += 4) blocks.push(u32(header, q));
        list.push({ kind: 5, blocks });
        break;
      }
      case 8:
        list.push({ kind: 8, tsVal: u32(header, p + 2), tsEcr: u32(header, p + 6) });
        break;
      default:
        list.push({ kind, data: header.slice(p + 2, p + len) });
    }
    p += len;
  }
  return list;
}
