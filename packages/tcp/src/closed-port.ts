import type { TcpSegmentOut } from "./segment-out.js";
import { add } from "./seq.js";
import type { TcpOption } from "./tcp-option.js";
import { TcpFlag, type TcpView } from "./tcp-segment.js";

const NO_OPTIONS: TcpOption[] = [];

/**
 * RFC 9293 §3.10.7.1, SEGMENT ARRIVES in CLOSED (no connection, no listener): fills `out` with
 * the reset to send and returns true, or returns false for an incoming RST (never answered).
 * "If the ACK bit is off, sequence number zero is used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>;
 * if the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>." `remoteAddress`/`localAddress` are the
 * segment's IPv4 source and destination.
 */
export function closedPortReply(
  seg: TcpView,
  remoteAddress: number,
  localAddress: number,
  out: TcpSegmentOut,
): boolean {
  if (seg.rst) return false;
  const h = out.header;
  out.localAddress = localAddress;
  out.remoteAddress = remoteAddress;
  h.sourcePort = seg.destinationPort;
  h.destinationPort = seg.sourcePort;
  if (seg.ackFlag) {
    h.seq = seg.ack;
    h.ack = 0;
    h.flags = TcpFlag.RST;
  } else {
    h.seq = 0;
    h.ack = add(seg.seq, seg.segmentLength);
    h.flags = TcpFlag.RST | TcpFlag.ACK;
  }
  h.window = 0;
  h.urgentPointer = 0;
  h.options = NO_OPTIONS;
  out.clearPayload();
  return true;
}
