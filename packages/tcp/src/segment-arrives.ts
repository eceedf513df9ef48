import { configMss } from "./config.js";
import { type TcpConnection, TcpInput } from "./connection.js";
import { cwndMayGrow } from "./cwnd-validation.js";
import { TcpEvent } from "./events.js";
import { tlpProcessAck, tlpSchedule } from "./rack.js";
import { acknowledgeSent, detectLoss, readSackBlocks, recoveryAck, tlpRepairedLoss } from "./recovery.js";
import { add, geq, gt, inWindow, leq, lt, max, sub } from "./seq.js";
import type { TcpView } from "./tcp-segment.js";
import { keepAliveApplies } from "./timeouts.js";

// RFC 9293 §3.10.7: SEGMENT ARRIVES. §3.10.7.1 (CLOSED) is closedPortReply() in closed-port.ts,
// §3.10.7.2 (LISTEN) is TcpListener.input(); this file has §3.10.7.3 (SYN-SENT) and the eight
// steps of §3.10.7.4 for the other states, one function each, in order.

/** Default MSS when the peer sends no MSS option (RFC 9293 §3.7.1, RFC 1122 §4.2.2.6). */
const DEFAULT_MSS = 536;
/**
 * Duplicate ACKs owed for out-of-order segments that arrived in one batch (between two
 * dispatches): enough for the peer's DupThresh of 3 (RFC 5681 §3.2), bounded against a flood.
 */
const MAX_DUP_ACKS_OWED = 4;
/** RFC 7323 §5.5: TS.Recent older than 24 days is invalid. */
const PAWS_IDLE_LIMIT = 24 * 24 * 3600 * 1000;

export function segmentArrives(c: TcpConnection, seg: TcpView, now: number): TcpInput {
  switch (c.state) {
    case "CLOSED":
    case "LISTEN":
      // A removed connection that the glue still holds: answer as a closed port would.
      if (!seg.rst) {
        if (seg.ackFlag) c.queueReset(seg.ack, 0, false);
        else c.queueReset(0, add(seg.seq, seg.segmentLength), true);
      }
      return TcpInput.Done;
    case "SYN-SENT":
      onSynSent(c, seg, now);
      return TcpInput.Done;
    case "SYN-RECEIVED":
      if (
        c.parent === undefined &&
        seg.syn &&
        seg.ackFlag &&
        !seg.rst &&
        seg.seq === c.irs &&
        seg.ack === c.sndMax
      ) {
        // Simultaneous open (RFC 9293 §3.5 figure 7): the peer's SYN-ACK answers our SYN. Its
        // SYN was already counted; take its ACK (Linux tcp_validate_incoming lets it pass).
        c.lastReceiveTime = now;
        if (checkAck(c, seg, now)) {
          c.ackNow = true;
          c.wantOutput = true;
        }
        return TcpInput.Done;
      }
      break;
    case "TIME-WAIT":
      if (seg.syn && !seg.rst && !seg.ackFlag && timeWaitMayReopen(c, seg)) {
        c.setState("CLOSED");
        return TcpInput.Reopen;
      }
      break;
    default:
      break;
  }
  c.lastReceiveTime = now;
  if (c.config.keepAlive && keepAliveApplies(c.state)) {
    // Any segment shows the peer alive: the idle time starts again (RFC 1122 §4.2.3.6). Not in
    // TIME-WAIT and the other closing states, where no keepalive is sent.
    c.keepAliveAt = now + c.config.keepAliveIdle;
    c.keepAliveProbesOut = 0;
  }
  if (!checkSequence(c, seg, now)) return TcpInput.Done;
  if (seg.rst) {
    checkRst(c, seg, now);
    return TcpInput.Done;
  }
  // third: security — not implemented (RFC 9293 §3.10.7.4 lets an implementation without
  // compartments skip it; IP security options are obsolete).
  if (seg.syn) {
    checkSyn(c, seg, now);
    return TcpInput.Done;
  }
  if (!checkAck(c, seg, now)) return TcpInput.Done;
  // sixth: URG — the urgent mechanism is deprecated for new applications (RFC 6093 §6); urgent
  // data is delivered inline with the rest, as with SO_OOBINLINE.
  processText(c, now, seg.seq, seg.data, seg.payloadStart, seg.end); // in place: no view of the segment
  checkFin(c, seg, now);
  return TcpInput.Done;
}

/**
 * RFC 9293 §3.10.7.4 TIME-WAIT and RFC 6191: a new SYN may end TIME-WAIT early when its sequence
 * number (or, with timestamps, its TSval) is beyond what this connection saw, so it cannot be
 * confused with an old duplicate. Linux does the same (tcp_timewait_state_process).
 */
function timeWaitMayReopen(c: TcpConnection, seg: TcpView): boolean {
  if (c.tsOk && c.hasTsRecent && seg.hasTimestamps) return gt(seg.tsVal, c.tsRecent);
  return gt(seg.seq, c.rcvNxt);
}

/** Effective send MSS: the peer's MSS, bounded by our MTU, less the options every segment carries. */
function effectiveMss(c: TcpConnection, peerMss: number): number {
  const ours = c.config.mtu - 40;
  let mss = Math.min(peerMss, ours);
  // RFC 9293 §3.7.1: Eff.snd.MSS subtracts the TCP options sent on every segment.
  if (c.tsOk) mss -= 12;
  return Math.max(mss, 64);
}

/** Records the options of the peer's SYN (RFC 7323 §2.2, §3.2; RFC 2018 §2; RFC 9293 §3.7.1). */
export function negotiate(c: TcpConnection, seg: TcpView, now: number): void {
  const cfg = c.config;
  if (cfg.windowScaling && seg.windowScale >= 0) {
    // RFC 7323 §2.3: a shift above 14 is used as 14.
    c.sndWscale = Math.min(seg.windowScale, 14);
    c.rcvWscale = c.offeredWscale;
    c.wsAgreed = true;
  } else {
    c.wsAgreed = false;
    c.sndWscale = 0;
    c.rcvWscale = 0;
  }
  c.sackOk = cfg.sack && seg.sackPermitted;
  c.tsOk = cfg.timestamps && seg.hasTimestamps;
  if (c.tsOk) {
    c.tsRecent = seg.tsVal;
    c.tsRecentTime = now;
    c.hasTsRecent = true;
  }
  c.rcvMss = configMss(cfg);
  c.sndMss = effectiveMss(c, seg.mss >= 0 ? seg.mss : DEFAULT_MSS);
  c.window.mss = c.sndMss;
  // RFC 6928: IW = min(10 × MSS, …) — Linux counts 10 segments whatever the MSS.
  c.window.cwnd = cfg.initialCwnd * c.sndMss;
}

/** ESTABLISHED entered: buffers, congestion window, events, the listener's accept queue. */
export function established(c: TcpConnection, now: number): void {
  c.allocateBuffers();
  c.setState(c.finQueued ? "FIN-WAIT-1" : "ESTABLISHED");
  c.events |= TcpEvent.Established | TcpEvent.Writable;
  c.retries = 0;
  c.lastSendTime = now;
  c.lastReceiveTime = now;
  if (c.config.keepAlive) c.keepAliveAt = now + c.config.keepAliveIdle;
  c.quickAcks = 16;
  c.wantOutput = true;
}

/** RFC 9293 §3.10.7.3: SEGMENT ARRIVES in SYN-SENT. */
function onSynSent(c: TcpConnection, seg: TcpView, now: number): void {
  // first: check the ACK bit
  if (seg.ackFlag) {
    const ack = seg.ack;
    if (leq(ack, c.iss) || gt(ack, c.sndMax)) {
      // "send a reset (unless the RST bit is set) <SEQ=SEG.ACK><CTL=RST>, discard the segment"
      if (!seg.rst) c.queueReset(ack, 0, false);
      c.stats.drops.badAck++;
      return;
    }
  }
  // second: check the RST bit. RFC 5961 §3.2 for SYN-SENT: acceptable when the ACK covers our SYN.
  if (seg.rst) {
    if (seg.ackFlag) c.fail("ECONNREFUSED");
    else c.stats.drops.badRst++;
    return;
  }
  // third: security — skipped (see segmentArrives).
  // fourth: check the SYN bit
  if (!seg.syn) {
    c.stats.drops.noAck++;
    return;
  }
  c.irs = seg.seq;
  c.rcvNxt = add(seg.seq, 1);
  c.rcvAdvEdge = c.rcvNxt;
  negotiate(c, seg, now);
  if (seg.ackFlag) {
    c.sndUna = seg.ack;
    // The first RTT sample: RFC 6298 (2.2) allows it from the SYN unless it was retransmitted.
    if (c.tsOk && seg.tsEcr !== 0) c.rtt.sample(c.tsNow(now) - seg.tsEcr);
    else if (c.retries === 0 && c.synSentAt >= 0) c.rtt.sample(now - c.synSentAt);
    c.rtoAt = -1;
    // RFC 7323 §2.2: the window in a SYN is never scaled.
    c.sndWnd = seg.window;
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = seg.seq;
    c.sndWl2 = seg.ack;
    c.ackNow = true;
    established(c, now);
    // Data or FIN on a SYN-ACK: "continue processing at the sixth step".
    if (seg.payloadLength > 0 || seg.fin) {
      processText(c, now, add(seg.seq, 1), seg.data, seg.payloadStart, seg.end);
      checkFin(c, seg, now);
    }
    return;
  }
  // Simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK segment <SEQ=ISS><ACK=RCV.NXT>".
  c.sndWnd = seg.window;
  c.maxSndWnd = c.sndWnd;
  c.sndWl1 = seg.seq;
  c.sndWl2 = c.sndUna;
  c.setState("SYN-RECEIVED");
  c.sndNxt = c.iss;
  c.synPending = true;
  c.wantOutput = true;
}

/** Sends an ACK in reply to a bad segment, at most one per `invalidAckInterval` (RFC 5961 §7). */
export function rateLimitedAck(c: TcpConnection, now: number): boolean {
  if (now - c.lastRateLimitedAck < c.config.invalidAckInterval) {
    c.stats.drops.rateLimited++;
    return false;
  }
  c.lastRateLimitedAck = now;
  c.ackNow = true;
  c.wantOutput = true;
  return true;
}

/**
 * first: check sequence number (RFC 9293 §3.10.7.4), with PAWS first (RFC 7323 §5.3). Returns
 * false when the segment is dropped.
 */
function checkSequence(c: TcpConnection, seg: TcpView, now: number): boolean {
  const seq = seg.seq;
  const len = seg.segmentLength;
  // RFC 7323 §5.3 PAWS: R1) drop a segment whose TSval is older than TS.Recent, unless RST.
  if (c.tsOk && seg.hasTimestamps && c.hasTsRecent && lt(seg.tsVal, c.tsRecent) && !seg.rst) {
    if (now - c.tsRecentTime > PAWS_IDLE_LIMIT) {
      c.hasTsRecent = false; // §5.5: TS.Recent went stale on an idle connection
    } else {
      c.stats.drops.paws++;
      if (len > 0) {
        c.ackNow = true;
        c.wantOutput = true;
      } else rateLimitedAck(c, now);
      return false;
    }
  }
  const wnd = Math.max(0, sub(c.rcvAdvEdge, c.rcvNxt));
  let ok: boolean;
  if (len === 0) ok = wnd === 0 ? seq === c.rcvNxt : inWindow(seq, c.rcvNxt, wnd);
  else
    ok =
      // "If the RCV.WND is zero, no segments will be acceptable, but special allowance should be
      // made to accept valid ACKs, URGs, and RSTs": a segment at RCV.NXT goes on, its data is
      // trimmed to nothing in processText.
      seq === c.rcvNxt ||
      (wnd > 0 && (inWindow(seq, c.rcvNxt, wnd) || inWindow(add(seq, len - 1), c.rcvNxt, wnd)));
  if (!ok) {
    c.stats.drops.outOfWindow++;
    if (seg.rst) return false;
    if (c.state === "SYN-RECEIVED" && seg.syn && seq === c.irs && !seg.ackFlag) {
      // A retransmitted SYN: our SYN-ACK was lost; send it again (Linux tcp_check_req).
      c.synPending = true;
      c.wantOutput = true;
      return false;
    }
    if (c.state === "TIME-WAIT" && seg.fin && add(seq, len) === c.rcvNxt) {
      // §3.10.7.4 eighth, TIME-WAIT: a retransmitted FIN is acknowledged and restarts 2 MSL.
      c.timeWaitAt = now + 2 * c.config.msl;
    }
    // "send an acknowledgment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"; Linux rate-limits it for
    // segments without data or SYN/FIN, which cannot be part of a transfer.
    if (len > 0) {
      c.ackNow = true;
      c.wantOutput = true;
    } else rateLimitedAck(c, now);
    return false;
  }
  // RFC 7323 §4.3 (2): TS.Recent takes the TSval of a segment that covers Last.ACK.sent.
  if (
    c.tsOk &&
    seg.hasTimestamps &&
    leq(seq, c.lastAckSent) &&
    (!c.hasTsRecent || geq(seg.tsVal, c.tsRecent))
  ) {
    c.tsRecent = seg.tsVal;
    c.tsRecentTime = now;
    c.hasTsRecent = true;
  }
  return true;
}

/** second: check the RST bit (RFC 9293 §3.10.7.4 with RFC 5961 §3.2). */
function checkRst(c: TcpConnection, seg: TcpView, now: number): void {
  if (seg.seq !== c.rcvNxt) {
    // RFC 5961 §3.2: in the window but not exact → challenge ACK; the sender of a genuine RST
    // answers it with a RST at the right number.
    c.stats.drops.badRst++;
    if (rateLimitedAck(c, now)) c.stats.challengeAcks++;
    return;
  }
  switch (c.state) {
    case "SYN-RECEIVED":
      // Passive open: "return this connection to LISTEN" — the listener forgets it.
      // Active (simultaneous) open: "connection refused".
      if (c.parent !== undefined) c.setState("CLOSED");
      else c.fail("ECONNREFUSED");
      return;
    case "ESTABLISHED":
    case "FIN-WAIT-1":
    case "FIN-WAIT-2":
      c.fail("ECONNRESET");
      return;
    case "CLOSE-WAIT":
      // Linux reports EPIPE here: the application already saw EOF and can only be writing.
      c.fail("EPIPE");
      return;
    default:
      // CLOSING, LAST-ACK, TIME-WAIT: "enter the CLOSED state, delete the TCB, and return".
      c.setState("CLOSED");
  }
}

/** fourth: check the SYN bit (RFC 9293 §3.10.7.4 with RFC 5961 §4). */
function checkSyn(c: TcpConnection, _seg: TcpView, now: number): void {
  if (c.state === "SYN-RECEIVED" && c.parent !== undefined) {
    // "If the connection was initiated with a passive OPEN, then return this connection to the
    // LISTEN state and return."
    c.stats.drops.badSyn++;
    c.setState("CLOSED");
    return;
  }
  // RFC 5961 §4.2: whatever the sequence number, a challenge ACK; drop the segment.
  c.stats.drops.badSyn++;
  if (rateLimitedAck(c, now)) c.stats.challengeAcks++;
}

/** fifth: check the ACK field. Returns false when the segment is dropped. */
function checkAck(c: TcpConnection, seg: TcpView, now: number): boolean {
  if (!seg.ackFlag) {
    c.stats.drops.noAck++;
    return false;
  }
  const ack = seg.ack;
  if (c.state === "SYN-RECEIVED") {
    // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED ... otherwise <SEQ=SEG.ACK><CTL=RST>"
    if (lt(c.sndUna, ack) && leq(ack, c.sndMax)) {
      if (c.parent !== undefined && !c.parent.childEstablished(c)) {
        // Accept queue full: Linux drops the ACK and lets the SYN-ACK be retransmitted.
        c.stats.drops.listenOverflow++;
        return false;
      }
      c.sndUna = ack;
      c.sndNxt = max(c.sndNxt, ack);
      if (c.tsOk && seg.hasTimestamps && seg.tsEcr !== 0) c.rtt.sample(c.tsNow(now) - seg.tsEcr);
      else if (c.retries === 0 && c.synSentAt >= 0) c.rtt.sample(now - c.synSentAt);
      c.rtoAt = -1;
      c.sndWnd = seg.window << c.sndWscale;
      c.maxSndWnd = Math.max(c.maxSndWnd, c.sndWnd);
      c.sndWl1 = seg.seq;
      c.sndWl2 = ack;
      established(c, now);
    } else {
      c.stats.drops.badAck++;
      c.queueReset(ack, 0, false);
      return false;
    }
  }
  // RFC 5961 §5.2: acceptable when SND.UNA − MAX.SND.WND ≤ SEG.ACK ≤ SND.NXT (SND.MAX here, as the
  // sender may have rewound SND.NXT after a timeout).
  if (gt(ack, c.sndMax) || lt(ack, add(c.sndUna, -Math.max(c.maxSndWnd, 1)))) {
    c.stats.drops.badAck++;
    if (rateLimitedAck(c, now)) c.stats.challengeAcks++;
    return false;
  }
  const windowField = seg.window << c.sndWscale;
  const tsEcr = c.tsOk && seg.hasTimestamps ? seg.tsEcr : -1;
  const advanced = gt(ack, c.sndUna);
  const wasRecovering = c.inRecovery;
  let delivered = 0;
  if (advanced) {
    delivered = newlyAcked(c, ack, now, tsEcr);
  } else if (ack === c.sndUna) {
    // RFC 5681 §2 DUPLICATE ACKNOWLEDGMENT: outstanding data, no payload, no SYN/FIN, same
    // window, ACK = SND.UNA (RFC 6675 counts SACK-bearing ACKs as well).
    if (
      c.sndMax !== c.sndUna &&
      seg.payloadLength === 0 &&
      !seg.fin &&
      (windowField === c.sndWnd || seg.sackCount > 0)
    ) {
      c.dupAcks++;
      c.stats.dupAcks++;
      if (c.inRecovery && !c.sackOk) {
        // RFC 6582 §3.2 (4): inflate cwnd by one segment per further duplicate ACK.
        c.window.cwnd += c.sndMss;
        c.wantOutput = true;
      }
    }
  }
  let sacked = 0;
  if (c.sackOk && seg.sackCount > 0) sacked = readSackBlocks(c, seg, now, tsEcr);
  // RFC 8985 §7.4: the tail loss probe's episode, and the loss it may have repaired.
  if (tlpProcessAck(c, ack, advanced, sacked > 0)) tlpRepairedLoss(c);
  if (c.sndMax !== c.sndUna) detectLoss(c, now);
  // The window grows by what this ACK newly delivered, acknowledged or SACKed (Linux's
  // acked_sacked), outside recovery (RFC 6675 §5 holds it there; the ACK that ends recovery
  // leaves cwnd at ssthresh), and only while cwnd is what limits the sender.
  delivered += sacked;
  if (delivered > 0 && !wasRecovering && !c.inRecovery && cwndMayGrow(c))
    c.cc.onAck(c.window, delivered, now, c.rtt.hasSample ? c.rtt.srtt : 0);
  // RFC 8985 §7.2: an ACK of new data restarts the probe timeout.
  if (advanced) tlpSchedule(c, now);
  // Window update (RFC 9293 §3.10.7.4): "If SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and
  // SND.WL2 =< SEG.ACK), set SND.WND <- SEG.WND, set SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK."
  // Only from an ACK within SND.UNA..SND.NXT: an older one carries an older window.
  if (geq(ack, c.sndUna) && (lt(c.sndWl1, seg.seq) || (c.sndWl1 === seg.seq && leq(c.sndWl2, ack)))) {
    if (windowField > c.sndWnd) c.wantOutput = true;
    c.sndWnd = windowField;
    c.sndWl1 = seg.seq;
    c.sndWl2 = ack;
    if (windowField > c.maxSndWnd) c.maxSndWnd = windowField;
    if (windowField > 0) {
      c.persistAt = -1;
      c.persistBackoff = 0;
    }
  }
  // Any acceptable ACK shows the peer alive (Linux resets icsk_probes_out).
  c.probesOut = 0;
  // With data waiting, dispatch decides again: send, or (re)arm the persist timer.
  if (c.sendBuffer !== undefined && (c.sndNxt !== c.dataEnd() || c.finQueued)) c.wantOutput = true;
  switch (c.state) {
    case "FIN-WAIT-1":
      if (c.finAcked()) {
        c.setState("FIN-WAIT-2");
        if (c.userClosed) c.finWait2At = now + c.config.finWait2Timeout;
      }
      break;
    case "CLOSING":
      if (c.finAcked()) enterTimeWait(c, now);
      break;
    case "LAST-ACK":
      if (c.finAcked()) {
        c.setState("CLOSED");
        return false;
      }
      break;
    default:
      break;
  }
  return true;
}

/**
 * SND.UNA < SEG.ACK: data (or SYN/FIN) acknowledged. Returns the bytes delivered for the first
 * time: not those the peer had SACKed before (after a timeout one ACK may cover megabytes SACKed
 * earlier; counted as newly acknowledged they grew cwnd by as much — CUBIC's Reno-friendly
 * estimate to 67 MB in one ACK).
 */
function newlyAcked(c: TcpConnection, ack: number, now: number, tsEcr: number): number {
  const acked = sub(ack, c.sndUna);
  const sb = c.sendBuffer;
  if (sb !== undefined) {
    const dataAcked = Math.min(Math.max(0, sub(ack, c.sndBufSeq)), sb.length);
    if (dataAcked > 0) {
      sb.consume(dataAcked);
      c.sndBufSeq = add(c.sndBufSeq, dataAcked);
      c.stats.bytesAcked += dataAcked;
      c.events |= TcpEvent.Writable;
    }
  }
  const sackedBefore = c.sent.sackedBytes;
  acknowledgeSent(c, ack, now, tsEcr);
  const delivered = acked - (sackedBefore - c.sent.sackedBytes);
  c.sndUna = ack;
  if (lt(c.sndNxt, ack)) c.sndNxt = ack;
  c.dupAcks = 0;
  c.retries = 0;
  // RTT: RFC 7323 §4.1 with timestamps (any ACK of new data), else RFC 6298 timing of one segment.
  let sample = 0;
  if (tsEcr >= 0 && tsEcr !== 0) {
    sample = c.tsNow(now) - tsEcr;
    if (sample >= 0 && sample < 0x7fffffff) c.rtt.sample(sample);
  } else if (c.rttTiming && geq(ack, c.rttSeq)) {
    sample = now - c.rttTime;
    c.rtt.sample(sample);
    c.rttTiming = false;
  }
  recoveryAck(c, ack, acked);
  // RFC 6298 (5.2)/(5.3): stop the timer when all is acknowledged, else restart it.
  if (c.sndUna === c.sndMax) {
    c.rtoAt = -1;
    c.unackedSince = -1;
    c.tlpAt = -1;
  } else {
    c.rtoAt = now + c.rtt.rto;
    c.unackedSince = now;
  }
  c.wantOutput = true;
  return delivered;
}

function enterTimeWait(c: TcpConnection, now: number): void {
  c.setState("TIME-WAIT");
  // RFC 9293 §3.10.7.4: "Start the time-wait timer, turn off the other timers." The ACK of the
  // peer's FIN (ackNow) is still owed; no probe or delayed ACK is.
  c.rtoAt = c.persistAt = c.keepAliveAt = c.finWait2At = c.delAckAt = c.rackAt = c.tlpAt = -1;
  c.probeNow = false;
  c.tlpPending = false;
  c.overrideSws = false;
  c.timeWaitAt = now + 2 * c.config.msl;
}

/**
 * seventh: process the segment text (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2): `bytes[from..to)`,
 * whose first byte has sequence number `seq` (offsets into the received segment, so that no view
 * is made of it: the copy into the ring is the one pass over the payload). Data before RCV.NXT is
 * trimmed, data beyond the buffer space dropped (RFC 9293 §3.10.7.4: "segments with higher
 * beginning sequence numbers SHOULD be held for later processing" — out-of-order data is kept,
 * bounded by the ring).
 */
export function processText(
  c: TcpConnection,
  now: number,
  seq: number,
  bytes: Uint8Array,
  from: number,
  to: number,
): void {
  if (to <= from) return;
  if (c.state !== "ESTABLISHED" && c.state !== "FIN-WAIT-1" && c.state !== "FIN-WAIT-2") return;
  if (c.finReceived) return;
  if (c.userClosed) {
    // Linux (tcp_rcv_state_process): new data for a socket closed for reading draws a reset.
    if (gt(add(seq, to - from), c.rcvNxt)) {
      c.stats.drops.afterClose++;
      c.queueReset(c.sndMax, 0, false);
      c.fail("ECONNRESET");
    }
    return;
  }
  const rb = c.receiveBuffer!;
  let s = seq;
  let start = from;
  let end = to;
  if (lt(s, c.rcvNxt)) {
    start = Math.min(end, start + sub(c.rcvNxt, s));
    s = c.rcvNxt;
  }
  const room = rb.space - sub(s, c.rcvNxt);
  if (room <= 0) {
    c.stats.drops.noBuffer++;
    c.ackNow = true;
    c.wantOutput = true;
    return;
  }
  if (end - start > room) {
    c.stats.drops.noBuffer++;
    end = start + room;
  }
  if (end === start) {
    // Entirely old: a retransmission of data we hold; the ACK tells the peer (RFC 5681 §4.2).
    c.ackNow = true;
    c.wantOutput = true;
    return;
  }
  if (s !== c.rcvNxt && c.overBufferLimit) {
    // bufferLimit (Linux tcp_mem): out-of-order data is what no read can free, so under pressure
    // it is not stored; the duplicate ACK tells the peer, which sends it again.
    c.stats.drops.memoryPressure++;
    c.ackNow = true;
    c.wantOutput = true;
    return;
  }
  const hadOutOfOrder = rb.rangeCount > 0;
  const next = rb.store(c.rcvNxt, s, bytes, start, end);
  if (next < 0) {
    c.stats.drops.outOfOrderFull++;
    c.ackNow = true;
    c.wantOutput = true;
    return;
  }
  if (s !== c.rcvNxt) {
    // RFC 5681 §4.2: an out-of-order segment is acknowledged at once (a duplicate ACK with SACK).
    c.stats.outOfOrder++;
    if (c.dupAcksOwed < MAX_DUP_ACKS_OWED) c.dupAcksOwed++;
    c.ackNow = true;
    c.wantOutput = true;
    return;
  }
  c.stats.bytesIn += sub(next, c.rcvNxt);
  c.rcvNxt = next;
  c.events |= TcpEvent.Readable;
  if (hadOutOfOrder || c.quickAcks > 0) {
    // Filling a gap is acknowledged at once (RFC 5681 §4.2); so are the first segments (Linux quickack).
    if (c.quickAcks > 0) c.quickAcks--;
    c.ackNow = true;
    c.wantOutput = true;
  } else {
    // RFC 1122 §4.2.3.2 / RFC 5681 §4.2: ACK at least every second full-sized segment, else
    // within the delayed ACK time.
    c.unackedSegments++;
    updateAto(c, now);
    if (c.unackedSegments >= 2) {
      c.ackNow = true;
      c.wantOutput = true;
    } else if (c.delAckAt < 0) c.delAckAt = now + c.ato;
  }
  c.lastDataTime = now;
  if (c.pendingFinSeq >= 0 && c.pendingFinSeq === c.rcvNxt) {
    c.pendingFinSeq = -1;
    c.rcvNxt = add(c.rcvNxt, 1);
    peerFin(c, now);
  }
}

/**
 * The delayed ACK timeout adapts to the gap between data segments as Linux's tcp_event_data_recv
 * does: short gaps pull it toward the minimum, longer ones (up to the current value) raise it;
 * it stays within [delayedAckMin, delayedAckMax] (RFC 1122 §4.2.3.2: under 0.5 s).
 */
function updateAto(c: TcpConnection, now: number): void {
  const min = c.config.delayedAckMin;
  const m = now - c.lastDataTime;
  if (m <= min / 2) c.ato = c.ato / 2 + min / 2;
  else if (m < c.ato) c.ato = c.ato / 2 + m;
  if (c.ato < min) c.ato = min;
  const max = Math.min(c.config.delayedAckMax, c.rtt.rto);
  if (c.ato > max) c.ato = Math.max(min, max);
}

/** eighth: check the FIN bit. */
export function checkFin(c: TcpConnection, seg: TcpView, now: number): void {
  if (!seg.fin) return;
  if (c.state === "CLOSED" || c.state === "LISTEN" || c.state === "SYN-SENT") return;
  if (c.finReceived) {
    if (c.state === "TIME-WAIT") c.timeWaitAt = now + 2 * c.config.msl;
    c.ackNow = true;
    c.wantOutput = true;
    return;
  }
  const finSeq = add(seg.seq, seg.segmentLength - 1);
  if (finSeq === c.rcvNxt) {
    c.rcvNxt = add(c.rcvNxt, 1);
    peerFin(c, now);
  } else if (gt(finSeq, c.rcvNxt) && leq(finSeq, c.rcvAdvEdge)) {
    // The FIN arrived before the data it follows: remember it for when the gap fills.
    const rb = c.receiveBuffer;
    if (rb !== undefined && sub(finSeq, c.rcvNxt) <= rb.space) c.pendingFinSeq = finSeq;
    c.ackNow = true;
    c.wantOutput = true;
  }
}

/** The FIN is in order: RFC 9293 §3.10.7.4 eighth step transitions. */
function peerFin(c: TcpConnection, now: number): void {
  c.finReceived = true;
  c.events |= TcpEvent.PeerFin | TcpEvent.Readable;
  c.ackNow = true;
  c.wantOutput = true;
  switch (c.state) {
    case "SYN-RECEIVED":
    case "ESTABLISHED":
      c.setState("CLOSE-WAIT");
      break;
    case "FIN-WAIT-1":
      if (c.finAcked()) enterTimeWait(c, now);
      else c.setState("CLOSING");
      break;
    case "FIN-WAIT-2":
      enterTimeWait(c, now);
      break;
    default:
      break;
  }
}
