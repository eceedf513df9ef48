import type { TcpConnection } from "./connection.js";
import { EVER_RETRANS, RETRANS, SACKED } from "./sent-segments.js";
import { geq, gt, lt } from "./seq.js";

// RACK-TLP (RFC 8985), as Linux runs it (net.ipv4.tcp_recovery = 1): time-based loss detection
// from per-segment transmit times, and tail loss probes. The segments and their times are in
// TcpConnection.sent (sent-segments.ts); this file has the per-connection RACK and TLP variables
// (§6.1, §7) and the algorithm's steps, each cited.

/** Linux tcp_min_rtt_wlen: RACK.min_RTT is the least RTT over the last 300 s. */
const MIN_RTT_WINDOW = 300_000;
/** Linux TCP_TIMEOUT_MIN: added to 2·SRTT for the PTO when more than one segment is in flight. */
const PTO_SLACK = 2;
/** RFC 8985 §6.2 step 4: a reordering window widened by DSACK persists over 16 recoveries. */
const REO_WND_PERSIST = 16;
/** DupThresh (RFC 5681 §3.2): with no reordering seen, this many SACKed segments mean loss at once. */
const DUP_THRESH = 3;

/** RFC 8985 §6.1 and §7 per-connection variables. Times in ms on the engine's clock. */
export class RackState {
  /** RACK.xmit_ts: transmit time of the most recently sent segment known delivered; -1 before one. */
  xmitTs = -1;
  /** RACK.end_seq: that segment's end. */
  endSeq = 0;
  /** RACK.rtt: the RTT measured from it. */
  rtt = 0;
  /** RACK.min_RTT, over a 300 s window (Linux tcp_min_rtt). */
  minRtt = Number.POSITIVE_INFINITY;
  minRttAt = 0;
  /** RACK.fack: the highest end of a delivered segment. */
  fack = 0;
  /** RACK.reordering_seen. */
  reorderingSeen = false;
  /** RACK.reo_wnd_incr: multiplier of min_RTT/4, raised by DSACKs. */
  reoWndIncr = 1;
  /** RACK.reo_wnd_persist. */
  reoWndPersist = 0;
  /** RACK.dsack_round: SND.NXT when a DSACK last raised the window; -1 when none. */
  dsackRound = -1;
  /** A DSACK arrived on the ACK being processed. */
  dsackNow = false;
  /** TLP.end_seq: SND.NXT after the probe while its episode lasts; -1 when none. */
  tlpEndSeq = -1;
  /** TLP.is_retrans: the probe was a retransmission. */
  tlpIsRetrans = false;
  /** Where the retransmitted probe started (its end is TLP.end_seq). */
  tlpStart = 0;
  /** The probe's episode saw a DSACK for it (both the original and the probe arrived). */
  tlpDsack = false;
}

/** RFC 8985 §6.2 RACK_sent_after(t1, seq1, t2, seq2). */
function sentAfter(t1: number, seq1: number, t2: number, seq2: number): boolean {
  return t1 > t2 || (t1 === t2 && gt(seq1, seq2));
}

/**
 * RFC 8985 §6.2 steps 1–3 for one segment the ACK being processed delivered (cumulatively or by
 * SACK): RACK.min_RTT, RACK.rtt, RACK.xmit_ts/end_seq, and whether it shows reordering. `tsEcr` is
 * the ACK's timestamp echo, -1 without one.
 */
export function rackDelivered(c: TcpConnection, p: number, now: number, tsEcr: number): void {
  const r = c.rack;
  const sent = c.sent;
  const xmit = sent.time(p);
  const end = sent.end(p);
  const flags = sent.flags(p);
  const rtt = now - xmit;
  // Step 3: a segment never retransmitted, delivered below the highest delivered one, arrived
  // out of order.
  if (gt(end, r.fack) || r.xmitTs < 0) r.fack = end;
  else if (lt(end, r.fack) && !(flags & EVER_RETRANS)) r.reorderingSeen = true;
  if (flags & EVER_RETRANS) {
    // Step 2: was the original or the retransmission delivered? Not this one if the ACK echoes a
    // timestamp older than the retransmission, or if the RTT would be below the minimum (the
    // original, delayed: Linux tcp_rack_advance).
    if (tsEcr >= 0 && lt(tsEcr, c.tsNow(xmit))) return;
    if (rtt < r.minRtt) return;
  } else if (rtt <= r.minRtt || now - r.minRttAt > MIN_RTT_WINDOW) {
    // Step 1: RACK.min_RTT from unambiguous samples.
    r.minRtt = rtt;
    r.minRttAt = now;
  }
  r.rtt = rtt;
  if (r.xmitTs < 0 || sentAfter(xmit, end, r.xmitTs, r.endSeq)) {
    r.xmitTs = xmit;
    r.endSeq = end;
  }
}

/** RFC 8985 §6.2 step 4: RACK_update_reo_wnd(). */
function reorderWindow(c: TcpConnection): number {
  const r = c.rack;
  if (r.dsackRound >= 0 && geq(c.sndUna, r.dsackRound)) r.dsackRound = -1;
  if (r.dsackNow && r.dsackRound < 0) {
    // A DSACK: the window was too small for this path; widen it for this round.
    r.dsackRound = c.sndMax;
    if (r.reoWndIncr < 255) r.reoWndIncr++;
    r.reoWndPersist = REO_WND_PERSIST;
  }
  r.dsackNow = false;
  if (!r.reorderingSeen) {
    // No reordering seen: as fast as DupThresh during recovery or once DupThresh segments are
    // SACKed (Linux tcp_rack_reo_wnd).
    if (c.inRecovery || c.rtoRecovery) return 0;
    if (c.sent.sackedCount >= DUP_THRESH) return 0;
  }
  if (r.minRtt === Number.POSITIVE_INFINITY) return 0;
  const srtt = c.rtt.hasSample ? c.rtt.srtt : r.minRtt;
  return Math.min((r.minRtt / 4) * r.reoWndIncr, Math.max(srtt, r.minRtt));
}

/** A recovery episode ended: RFC 8985 §6.2 step 4's persistence count. */
export function rackRecoveryEnded(c: TcpConnection): void {
  const r = c.rack;
  if (r.reoWndPersist > 0 && --r.reoWndPersist === 0) r.reoWndIncr = 1;
}

/**
 * RFC 8985 §6.2 step 5, RACK_detect_loss_and_arm_timer(): every segment sent before the most
 * recently delivered one, and older than RACK.rtt + reo_wnd, is lost; the reordering timer is
 * armed for the youngest of the others. Walks the segments in transmit order from the oldest
 * and stops at the first sent after RACK.xmit_ts (Linux's tsorted list). Returns the number of
 * segments newly marked lost.
 */
export function rackDetectLoss(c: TcpConnection, now: number): number {
  const r = c.rack;
  c.rackAt = -1;
  if (r.xmitTs < 0) return 0;
  const sent = c.sent;
  const reoWnd = reorderWindow(c);
  let timeout = 0;
  let marked = 0;
  let p = sent.timeHead;
  while (p >= 0) {
    const next = sent.timeNext(p);
    const xmit = sent.time(p);
    if (!sentAfter(r.xmitTs, r.endSeq, xmit, sent.end(p))) break;
    const remaining = xmit + r.rtt + reoWnd - now;
    if (remaining <= 0) {
      if (sent.flags(p) & RETRANS) c.stats.lostRetransmits++;
      if (sent.markLost(p)) marked++;
    } else if (remaining > timeout) timeout = remaining;
    p = next;
  }
  if (timeout > 0) c.rackAt = now + timeout;
  return marked;
}

/**
 * RFC 8985 §6.3, on a retransmission timeout: the first unacknowledged segment and every segment
 * that has had RACK.rtt to be acknowledged (with no reordering allowance) are lost; those sent
 * more recently still have their chance (Linux tcp_timeout_mark_lost).
 */
export function rackMarkLostOnTimeout(c: TcpConnection, now: number): void {
  const sent = c.sent;
  const rtt = c.rack.xmitTs < 0 ? 0 : c.rack.rtt;
  for (let i = 0; i < sent.count; i++) {
    const p = sent.at(i);
    if (i === 0 || sent.time(p) + rtt - now <= 0) sent.markLost(p);
  }
}

// ---- Tail loss probe (RFC 8985 §7) ----

/**
 * RFC 8985 §7.2: arm the probe timeout after new data was sent or acknowledged, when nothing is
 * in recovery, nothing is SACKed (Linux: only in the Open state) and no probe is outstanding.
 * PTO = 2·SRTT (plus the worst-case delayed ACK when a single segment is in flight, else Linux's
 * 2 ms), never later than the RTO.
 */
export function tlpSchedule(c: TcpConnection, now: number): void {
  c.tlpAt = -1;
  if (c.config.recovery !== "rack" || !c.sackOk) return;
  const sent = c.sent;
  if (sent.count === 0 || c.inRecovery || c.rtoRecovery || sent.sackedCount > 0) return;
  if (c.rack.tlpEndSeq >= 0) return;
  let pto: number;
  if (c.rtt.hasSample) {
    pto = 2 * c.rtt.srtt + (sent.count === 1 ? c.config.delayedAckMax : PTO_SLACK);
  } else pto = c.config.initialRto;
  if (c.rtoAt >= 0 && now + pto > c.rtoAt) pto = c.rtoAt - now;
  if (pto < 0) pto = 0;
  c.tlpAt = now + pto;
}

/** A probe may go now: none outstanding in this episode, no recovery running, data in flight. */
export function tlpMayProbe(c: TcpConnection): boolean {
  return c.rack.tlpEndSeq < 0 && !c.inRecovery && !c.rtoRecovery && c.sndMax !== c.sndUna;
}

/** The segment a probe retransmits (§7.3): the highest sent, unless it was SACKed; -1 for none. */
export function tlpRetransmitCandidate(c: TcpConnection): number {
  const sent = c.sent;
  if (sent.count === 0) return -1;
  const p = sent.last;
  return sent.flags(p) & SACKED ? -1 : p;
}

/**
 * RFC 8985 §7.4, TLP_process_ack: once the ACK reaches TLP.end_seq the episode ends; if the probe
 * was a retransmission that repaired a loss (the ACK goes beyond it and no DSACK said both
 * copies arrived), congestion control reacts to that loss once (Linux tcp_process_tlp_ack).
 * Returns true when it did.
 */
export function tlpProcessAck(c: TcpConnection, ack: number, advanced: boolean, sacked: boolean): boolean {
  const r = c.rack;
  if (r.tlpEndSeq < 0 || lt(ack, r.tlpEndSeq)) return false;
  if (!r.tlpIsRetrans || r.tlpDsack) {
    r.tlpEndSeq = -1;
    return false;
  }
  if (gt(ack, r.tlpEndSeq)) {
    r.tlpEndSeq = -1;
    return true;
  }
  // A duplicate ACK at TLP.end_seq with nothing new: the original and the probe both arrived.
  if (!advanced && !sacked) r.tlpEndSeq = -1;
  return false;
}

/**
 * A DSACK block [l, r) arrived (RFC 2883): a segment reached the peer twice. It widens the
 * reordering window (§6.2 step 4), and when it covers the probe's retransmission, the probe
 * repaired nothing (§7.4).
 */
export function rackOnDsack(c: TcpConnection, l: number, right: number): void {
  const r = c.rack;
  r.dsackNow = true;
  c.stats.dsacks++;
  if (r.tlpEndSeq >= 0 && r.tlpIsRetrans && lt(l, r.tlpEndSeq) && gt(right, r.tlpStart)) r.tlpDsack = true;
}
