import { put32 } from "@userstack/wire";
import type { TcpConnection } from "./connection.js";
import { cwndValidate } from "./cwnd-validation.js";
import { tlpMayProbe, tlpRetransmitCandidate, tlpSchedule } from "./rack.js";
import { pipe } from "./recovery.js";
import { TcpSegmentOut, type TcpSink } from "./segment-out.js";
import { add, gt, leq, lt, max, sub } from "./seq.js";
import type { TcpOption } from "./tcp-option.js";
import { TcpFlag } from "./tcp-segment.js";
import { runTimers } from "./timeouts.js";

// What to send now (smoltcp's `dispatch`): SYN/SYN-ACK, data and FIN within the peer's window and
// the congestion window, loss-recovery retransmissions (RFC 6675 §5 NextSeg), pure ACKs (delayed
// or immediate), window updates, probes and resets. Emits a burst per call.

/** The reused segment handed to sinks. No re-entrancy: one dispatch runs at a time. */
const OUT = new TcpSegmentOut();
const EMPTY = new Uint8Array(0);

// Reused option objects for SYNs (no allocation per segment). Other segments get their option
// bytes written directly (see writeOptions).
const NOP: TcpOption = { kind: 1 };
const MSS_OPT = { kind: 2 as const, mss: 0 };
const WS_OPT = { kind: 3 as const, shift: 0 };
const SACK_PERM: TcpOption = { kind: 4 };
const TS_OPT = { kind: 8 as const, tsVal: 0, tsEcr: 0 };
const SYN_OPTS: TcpOption[] = [];
/** NOP, NOP, kind 8, length 10: the timestamps option as Linux aligns it (RFC 7323 Appendix A). */
const TS_HEAD = 0x0101080a;
/** NOP, NOP, kind 5: the SACK option's head; its length byte follows (RFC 2018 §3). */
const SACK_HEAD = 0x010105;

export function dispatch(c: TcpConnection, now: number, sink: TcpSink, budget: number): number {
  runTimers(c, now);
  let sent = 0;
  if (c.rstPending && sent < budget) {
    emitReset(c, sink);
    sent++;
  }
  switch (c.state) {
    case "CLOSED":
    case "LISTEN":
      c.wantOutput = false;
      return sent;
    case "SYN-SENT":
    case "SYN-RECEIVED":
      if (c.synPending && sent < budget) {
        emitSyn(c, now, sink);
        sent++;
      }
      break;
    case "ESTABLISHED":
    case "CLOSE-WAIT":
    case "FIN-WAIT-1":
    case "CLOSING":
    case "LAST-ACK":
      sent += sendData(c, now, sink, budget - sent);
      break;
    default:
      // FIN-WAIT-2 and TIME-WAIT only acknowledge.
      break;
  }
  if (c.probeNow && sent < budget && c.state !== "SYN-SENT" && c.state !== "SYN-RECEIVED") {
    // Zero-window and keepalive probes: <SEQ=SND.UNA-1><CTL=ACK>, no data, which the peer must
    // answer with an ACK carrying its window (Linux tcp_xmit_probe_skb; RFC 9293 §3.8.4).
    c.probeNow = false;
    emit(c, now, sink, add(c.sndUna, -1), 0, TcpFlag.ACK);
    sent++;
  }
  if (c.ackNow && sent < budget && c.state !== "SYN-SENT") {
    if (c.state === "SYN-RECEIVED") {
      // In SYN-RECEIVED an acknowledgment is the SYN-ACK itself.
      if (sent < budget) {
        emitSyn(c, now, sink);
        sent++;
      }
    } else {
      // One ACK, plus a duplicate for each further out-of-order segment of the batch, so that the
      // peer counts its duplicate ACKs (RFC 5681 §4.2) as if we had answered each at once.
      // The sequence number is SND.MAX, not SND.NXT (BSD tcp_output does the same): after a
      // timeout rewinds SND.NXT the peer may hold more than SND.NXT, and would find an ACK below
      // its RCV.NXT unacceptable (RFC 9293 §3.10.7.4 first check).
      let n = Math.max(1, c.dupAcksOwed);
      while (n-- > 0 && sent < budget) {
        emit(c, now, sink, c.sndMax, 0, TcpFlag.ACK);
        sent++;
      }
    }
  }
  c.wantOutput = sent >= budget;
  return sent;
}

function emitReset(c: TcpConnection, sink: TcpSink): void {
  c.rstPending = false;
  const h = OUT.header;
  OUT.localAddress = c.localAddress;
  OUT.remoteAddress = c.remoteAddress;
  h.sourcePort = c.localPort;
  h.destinationPort = c.remotePort;
  h.seq = c.rstSeq;
  h.ack = c.rstFlags & TcpFlag.ACK ? c.rstAck : 0;
  h.flags = c.rstFlags;
  h.window = 0;
  h.optionLength = 0;
  OUT.clearPayload();
  c.stats.segmentsOut++;
  sink(OUT);
}

/** Window to advertise, bytes, with receiver SWS avoidance (RFC 1122 §4.2.3.3, RFC 9293 §3.8.6.2.2). */
function receiveWindow(c: TcpConnection): number {
  const rb = c.receiveBuffer;
  const space = rb === undefined ? c.config.receiveBufferSize : rb.space;
  const cur = Math.max(0, sub(c.rcvAdvEdge, c.rcvNxt));
  if (space <= cur) return cur; // never shrink the window (RFC 7323 §2.4)
  const mss = c.rcvMss;
  const cap = rb === undefined ? c.config.receiveBufferSize : rb.capacity;
  if (space - cur < Math.min(cap >>> 1, mss)) return cur;
  return space;
}

function emitSyn(c: TcpConnection, now: number, sink: TcpSink): void {
  c.synPending = false;
  const active = c.state === "SYN-SENT";
  const h = OUT.header;
  fillAddresses(c);
  h.seq = c.iss;
  h.ack = active ? 0 : c.rcvNxt;
  h.flags = active ? TcpFlag.SYN : TcpFlag.SYN | TcpFlag.ACK;
  // RFC 7323 §2.2: the window of a SYN is never scaled.
  const space = c.receiveBuffer === undefined ? c.config.receiveBufferSize : c.receiveBuffer.space;
  h.window = Math.min(space, 0xffff);
  const o = SYN_OPTS;
  o.length = 0;
  MSS_OPT.mss = c.rcvMss;
  o.push(MSS_OPT);
  // Our SYN offers what the configuration enables; a SYN-ACK only what the peer offered too.
  const sack = active ? c.config.sack : c.sackOk;
  const ts = active ? c.config.timestamps : c.tsOk;
  const ws = active ? c.config.windowScaling : c.rcvWscale > 0 || c.sndWscale > 0 || c.wsAgreed;
  // Linux's layout: MSS, SACK-permitted + timestamps (or NOP NOP + timestamps), NOP + WS.
  if (ts) {
    if (sack) o.push(SACK_PERM);
    else o.push(NOP, NOP);
    TS_OPT.tsVal = c.tsNow(now);
    TS_OPT.tsEcr = active ? 0 : c.tsRecent;
    o.push(TS_OPT);
  } else if (sack) o.push(NOP, NOP, SACK_PERM);
  if (ws) {
    WS_OPT.shift = c.offeredWscale;
    o.push(NOP, WS_OPT);
  }
  h.options = o;
  OUT.clearPayload();
  if (c.synSentAt < 0) c.synSentAt = now;
  c.sndNxt = add(c.iss, 1);
  if (gt(c.sndNxt, c.sndMax) || c.sndMax === c.iss) c.sndMax = c.sndNxt;
  if (c.rtoAt < 0) c.rtoAt = now + c.rtt.rto;
  c.ackNow = false;
  c.lastAckSent = c.rcvNxt;
  c.rcvAdvEdge = add(c.rcvNxt, h.window);
  c.lastWindowSent = h.window;
  c.stats.segmentsOut++;
  c.lastSendTime = now;
  sink(OUT);
}

function fillAddresses(c: TcpConnection): void {
  OUT.localAddress = c.localAddress;
  OUT.remoteAddress = c.remoteAddress;
  OUT.header.sourcePort = c.localPort;
  OUT.header.destinationPort = c.remotePort;
}

/**
 * Emits one segment at `seq` with `len` payload bytes from the send buffer and `flags` (ACK is
 * always set once synchronized), with timestamps and SACK blocks as negotiated.
 */
function emit(c: TcpConnection, now: number, sink: TcpSink, seq: number, len: number, flags: number): void {
  const h = OUT.header;
  fillAddresses(c);
  h.seq = seq;
  h.ack = c.rcvNxt;
  h.flags = flags;
  const win = receiveWindow(c);
  // RFC 7323 §2.3: the field is the window shifted right, truncated. Rounding up instead would
  // advertise up to 2^shift − 1 bytes the buffer cannot hold, and while the window is held
  // (never shrunk) as RCV.NXT moves by other amounts, that excess would grow with every ACK
  // (RFC 7323 Appendix F's creep): at a shift of 7 a full 4 MiB buffer was found offering 2816
  // bytes beyond it. Truncation may pull the peer's right edge back by less than 2^shift; the
  // edge we accept up to (RCV.NXT + RCV.WND) never moves back.
  const field = Math.min(win >>> c.rcvWscale, 0xffff);
  h.window = field;
  c.lastWindowSent = field << c.rcvWscale;
  const edge = add(c.rcvNxt, c.lastWindowSent);
  if (gt(edge, c.rcvAdvEdge)) c.rcvAdvEdge = edge;
  writeOptions(c, now);
  if (len > 0) {
    const sb = c.sendBuffer!;
    const off = sub(seq, c.sndBufSeq);
    const first = sb.first(off, len);
    OUT.payload = first;
    OUT.payload2 = first.length < len ? sb.second(off, first.length, len) : EMPTY;
  } else OUT.clearPayload();
  // Every segment carries the current ACK: the delayed ACK is done (RFC 1122 §4.2.3.2).
  c.ackNow = false;
  c.dupAcksOwed = 0;
  c.delAckAt = -1;
  c.unackedSegments = 0;
  c.lastAckSent = c.rcvNxt;
  c.lastSendTime = now;
  c.stats.segmentsOut++;
  sink(OUT);
}

/**
 * SACK blocks the next segment carries (RFC 2018 §3): one per out-of-order range, as many as fit
 * in the 40 option bytes beside the timestamps (3 with them, 4 without).
 */
function sackBlocks(c: TcpConnection): number {
  const rb = c.receiveBuffer;
  if (!c.sackOk || rb === undefined || rb.rangeCount === 0) return 0;
  return Math.min(rb.rangeCount, c.tsOk ? 3 : 4);
}

/**
 * Payload bytes a full segment may carry now (Linux tcp_current_mss). The MSS counts no options
 * (RFC 6691 §2, RFC 9293 §3.7.1 Eff.snd.MSS): {@link TcpConnection.sndMss} already leaves room for
 * the timestamps every segment carries; a segment that also carries SACK blocks (NOP, NOP, kind,
 * length, 8 bytes a block) gives up that much payload, or the datagram would exceed the path MTU
 * and be dropped (DF is set) on every retransmission.
 */
export function currentMss(c: TcpConnection): number {
  const n = sackBlocks(c);
  return n === 0 ? c.sndMss : Math.max(c.sndMss - 4 - 8 * n, 1);
}

/**
 * The options of a synchronized segment, written as bytes into the reused header in Linux's
 * layout: NOP NOP timestamps (RFC 7323 §3.2, Appendix A), then NOP NOP SACK blocks (RFC 2018 §3)
 * when out-of-order data is held. 12 + 4 + 8n bytes at most 40 (n ≤ 3 beside timestamps).
 */
function writeOptions(c: TcpConnection, now: number): void {
  const h = OUT.header;
  const o = h.optionBytes;
  let p = 0;
  if (c.tsOk) {
    put32(o, 0, TS_HEAD);
    put32(o, 4, c.tsNow(now));
    put32(o, 8, c.tsRecent);
    p = 12;
  }
  const n = sackBlocks(c);
  if (n > 0) {
    const rb = c.receiveBuffer!;
    put32(o, p, (SACK_HEAD << 8) | (2 + 8 * n));
    p += 4;
    // RFC 2018 §4: the first block reports the most recently received segment's range, then the
    // others, the latest first, as many as fit.
    const latest = rb.latestRange >= 0 ? rb.latestRange : rb.rangeCount - 1;
    put32(o, p, rb.lefts[latest]!);
    put32(o, p + 4, rb.rights[latest]!);
    p += 8;
    for (let i = rb.rangeCount - 1, k = 1; i >= 0 && k < n; i--) {
      if (i === latest) continue;
      put32(o, p, rb.lefts[i]!);
      put32(o, p + 4, rb.rights[i]!);
      p += 8;
      k++;
    }
  }
  h.optionLength = p;
}

function sendData(c: TcpConnection, now: number, sink: TcpSink, budget: number): number {
  const w = c.window;
  let sent = 0;
  // Every segment of this burst carries the same options: nothing arrives during a dispatch.
  const mss = currentMss(c);
  // RFC 5681 §4.1 restart window: after an idle period longer than the RTO, start again from
  // min(IW, cwnd) so that a burst does not hit the network at the old rate.
  if (
    c.config.slowStartAfterIdle &&
    c.sndMax === c.sndUna &&
    now - c.lastSendTime > c.rtt.rto &&
    c.sndNxt !== c.dataEnd()
  ) {
    const iw = c.config.initialCwnd * c.sndMss;
    if (w.cwnd > iw) w.cwnd = iw;
    c.cc.onRestart(w);
  }
  if (c.tlpPending) {
    c.tlpPending = false;
    sent += sendProbe(c, now, sink, mss);
  }
  let newData = false;
  let cwndFull = false;
  while (sent < budget) {
    // Retransmissions first: the oldest segment deemed lost (RFC 6675 §5 (C) NextSeg() rule 1;
    // RACK leaves what to send to the recovery, RFC 8985 §9.3), while pipe is below cwnd.
    const lost = c.sent.nextLost();
    if (lost >= 0) {
      if (!c.rtxForce && pipe(c) >= w.cwnd) {
        cwndFull = true;
        break;
      }
      const start = c.sent.start(lost);
      // Within the peer's window, unless it is the first unacknowledged segment (Linux tcp_retransmit_skb).
      if (start !== c.sndUna && !lt(start, add(c.sndUna, c.sndWnd))) break;
      c.rtxForce = false;
      sent += retransmit(c, lost, now, sink, mss);
      continue;
    }
    const dataEnd = c.dataEnd();
    const dataLeft = Math.max(0, sub(dataEnd, c.sndNxt));
    const finLeft = c.finQueued && leq(c.sndNxt, dataEnd);
    if (dataLeft === 0 && !finLeft) break;
    const wndRoom = sub(add(c.sndUna, c.sndWnd), c.sndNxt);
    let len = Math.min(mss, dataLeft);
    if (len > wndRoom) {
      if (wndRoom <= 0) break;
      // Sender SWS avoidance (RFC 9293 §3.8.6.2.1): a window-limited partial segment only when
      // it is at least half the largest window the peer ever offered.
      if (wndRoom < c.maxSndWnd >>> 1 && !c.overrideSws) break;
      c.overrideSws = false;
      len = wndRoom;
    } else if (
      len < mss &&
      !c.config.noDelay &&
      !c.finQueued &&
      c.sndNxt === c.sndMax &&
      c.sndMax !== c.sndUna
    ) {
      // Nagle (RFC 9293 §3.7.4): no small segment while data is unacknowledged.
      break;
    }
    const fin = finLeft && len === dataLeft && wndRoom > len;
    if (len === 0 && !fin) break;
    const flight = pipe(c);
    if (flight > 0 && flight + len > w.cwnd) {
      cwndFull = true;
      break;
    }
    // The record of segments in flight is full only for a flow of tiny segments: wait for ACKs.
    if (!c.sent.canAppend) break;
    sendNew(c, now, sink, len, fin, len === dataLeft && len > 0);
    newData = true;
    sent++;
  }
  // RFC 8985 §7.2: new data sent arms the probe timeout.
  if (newData) tlpSchedule(c, now);
  cwndValidate(c, cwndFull);
  // Persist (RFC 9293 §3.8.6.1): data waits, nothing is in flight, the window does not let it go.
  if (
    c.sndMax === c.sndUna &&
    c.persistAt < 0 &&
    (sub(c.dataEnd(), c.sndNxt) > 0 || (c.finQueued && leq(c.sndNxt, c.dataEnd()))) &&
    sent < budget
  ) {
    c.persistAt = now + Math.min(c.rtt.rto * 2 ** c.persistBackoff, c.config.maxRto);
  }
  return sent;
}

/** Sends `len` new bytes at SND.NXT (and the FIN after them with `fin`), recording the segment. */
function sendNew(
  c: TcpConnection,
  now: number,
  sink: TcpSink,
  len: number,
  fin: boolean,
  push: boolean,
): void {
  let flags = TcpFlag.ACK;
  if (fin) flags |= TcpFlag.FIN;
  if (push) flags |= TcpFlag.PSH;
  const seq = c.sndNxt;
  emit(c, now, sink, seq, len, flags);
  c.stats.bytesOut += len;
  if (!c.tsOk && !c.rttTiming && len > 0) {
    // RFC 6298 §3 with Karn's rule: time one new segment at a time.
    c.rttTiming = true;
    c.rttSeq = add(seq, len);
    c.rttTime = now;
  }
  c.sndNxt = add(seq, len + (fin ? 1 : 0));
  c.sndMax = max(c.sndMax, c.sndNxt);
  c.sent.append(seq, c.sndNxt, now);
  // RFC 6298 (5.1): start the timer if it is not running.
  if (c.rtoAt < 0) c.rtoAt = now + c.rtt.rto;
  if (c.unackedSince < 0) c.unackedSince = now;
}

/**
 * Sends the recorded segment `p` again: its data (in pieces of `mss` when the MSS shrank since,
 * e.g. now that SACK blocks ride along; so a call may exceed the dispatch budget by that many),
 * with the FIN if the segment carried it. Returns the segments emitted.
 */
function retransmit(c: TcpConnection, p: number, now: number, sink: TcpSink, mss: number): number {
  const rec = c.sent;
  const start = rec.start(p);
  const end = rec.end(p);
  const dataEnd = c.dataEnd();
  const withFin = c.finQueued && end === add(dataEnd, 1);
  let left = sub(withFin ? dataEnd : end, start);
  let seq = start;
  let n = 0;
  do {
    const len = Math.min(left, mss);
    left -= len;
    emit(c, now, sink, seq, len, left === 0 && withFin ? TcpFlag.ACK | TcpFlag.FIN : TcpFlag.ACK);
    seq = add(seq, len);
    n++;
  } while (left > 0);
  rec.markRetransmitted(p, now);
  c.stats.retransmits += n;
  c.rttTiming = false; // Karn's algorithm: no sample from a range sent twice
  if (c.rtoAt < 0) c.rtoAt = now + c.rtt.rto;
  return n;
}

/**
 * RFC 8985 §7.3 TLP_send_probe(): one segment of new data if the peer's window lets it go, else
 * the most recently sent segment again — whatever cwnd says, and without changing it. One probe
 * per episode; the RTO is then armed afresh. Returns the segments emitted.
 */
function sendProbe(c: TcpConnection, now: number, sink: TcpSink, mss: number): number {
  const r = c.rack;
  if (!tlpMayProbe(c)) return 0;
  const dataEnd = c.dataEnd();
  const dataLeft = Math.max(0, sub(dataEnd, c.sndNxt));
  const finLeft = c.finQueued && leq(c.sndNxt, dataEnd);
  const wndRoom = sub(add(c.sndUna, c.sndWnd), c.sndNxt);
  let n = 0;
  if ((dataLeft > 0 || finLeft) && wndRoom > 0 && c.sent.canAppend) {
    const len = Math.min(mss, dataLeft, wndRoom);
    sendNew(c, now, sink, len, finLeft && len === dataLeft && wndRoom > len, len === dataLeft && len > 0);
    r.tlpIsRetrans = false;
    n = 1;
  } else {
    const p = tlpRetransmitCandidate(c);
    if (p < 0) return 0;
    r.tlpStart = c.sent.start(p);
    n = retransmit(c, p, now, sink, mss);
    r.tlpIsRetrans = true;
  }
  r.tlpEndSeq = c.sndMax;
  r.tlpDsack = false;
  c.stats.lossProbes++;
  c.rtoAt = now + c.rtt.rto;
  return n;
}
