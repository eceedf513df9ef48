import type { TcpConnection } from "./connection.js";
import {
  rackDelivered,
  rackDetectLoss,
  rackMarkLostOnTimeout,
  rackOnDsack,
  rackRecoveryEnded,
} from "./rack.js";
import { SACKED } from "./sent-segments.js";
import { add, geq, gt, leq, lt, max, sub } from "./seq.js";
import type { TcpView } from "./tcp-segment.js";

// Loss recovery on the segments in flight (sent-segments.ts): what each ACK tells (cumulative
// acknowledgment, SACK blocks, DSACK), which segments are deemed lost — RACK (RFC 8985) by
// default, RFC 6675's IsLost with `recovery: "rfc6675"`, NewReno's duplicate ACKs (RFC 6582)
// without SACK — and entering and leaving fast recovery, once per loss episode (RFC 6675 §5,
// RFC 8985 §9.3 leaves the congestion response to these).

/** DupThresh (RFC 5681 §3.2, RFC 6675 §2). */
const DUP_THRESH = 3;

/**
 * RFC 6675 §4 pipe: bytes believed in the network — outstanding, less what was SACKed or is
 * deemed lost, plus retransmissions in flight (Linux tcp_packets_in_flight, in bytes).
 */
export function pipe(c: TcpConnection): number {
  const s = c.sent;
  return sub(c.sndMax, c.sndUna) - s.sackedBytes - s.lostBytes + s.retransBytes;
}

/**
 * The cumulative ACK `ack` (above SND.UNA) delivered the oldest segments: RACK learns from each
 * (RFC 8985 §6.2 steps 1–3), then they are forgotten. `tsEcr` is the ACK's echo, -1 without.
 */
export function acknowledgeSent(c: TcpConnection, ack: number, now: number, tsEcr: number): void {
  const sent = c.sent;
  for (let i = 0; i < sent.count; i++) {
    const p = sent.at(i);
    if (!lt(sent.start(p), ack)) break;
    if (!(sent.flags(p) & SACKED)) rackDelivered(c, p, now, tsEcr);
    if (!leq(sent.end(p), ack)) break;
  }
  sent.acknowledge(ack);
}

/**
 * The SACK blocks of an ACK onto the segments in flight (RFC 2018, RFC 6675 §4 Update()): every
 * segment a block covers whole is SACKed (a block covering part of one leaves it to be resent:
 * rare, and the cost of a needless retransmission). A first block below the cumulative ACK, or
 * inside the second, is a DSACK (RFC 2883 §4). Blocks beyond what was sent are ignored.
 * Returns the bytes newly SACKed.
 */
export function readSackBlocks(c: TcpConnection, seg: TcpView, now: number, tsEcr: number): number {
  const sent = c.sent;
  let newly = 0;
  for (let b = 0; b < seg.sackCount; b++) {
    let l = seg.sackLeft(b);
    const r = seg.sackRight(b);
    if (!lt(l, r)) continue;
    if (
      b === 0 &&
      (leq(r, seg.ack) || (seg.sackCount > 1 && geq(l, seg.sackLeft(1)) && leq(r, seg.sackRight(1))))
    ) {
      rackOnDsack(c, l, r);
      continue;
    }
    if (!lt(c.sndUna, r) || gt(r, c.sndMax)) continue;
    if (lt(l, c.sndUna)) l = c.sndUna;
    let i = sent.find(l);
    if (i < 0) continue;
    if (lt(sent.start(sent.at(i)), l)) i++;
    // A block covers data only: the segment that carried our FIN with data is SACKed when its
    // data is (a FIN sent alone never is).
    const finEnd = c.finQueued && r === c.dataEnd() ? add(r, 1) : r;
    for (; i < sent.count; i++) {
      const p = sent.at(i);
      const e = sent.end(p);
      if (gt(e, r) && !(e === finEnd && lt(sent.start(p), r))) break;
      if (sent.markSacked(p)) {
        newly += sent.length(p);
        rackDelivered(c, p, now, tsEcr);
      }
    }
  }
  if (newly > 0) {
    c.stats.sackedBytes += newly;
    if (c.inRecovery || c.rtoRecovery) c.wantOutput = true;
  }
  return newly;
}

/**
 * After an ACK (or the RACK reordering timer): marks what is lost by the configured algorithm,
 * and enters fast recovery when a loss is found outside recovery — once per episode: not during
 * a recovery or the recovery from a timeout, whose window the congestion response covered.
 */
export function detectLoss(c: TcpConnection, now: number): void {
  const sent = c.sent;
  if (sent.count === 0) return;
  let found = false;
  if (!c.sackOk) {
    // RFC 6582 §3.2 (2): DupThresh duplicate ACKs; the first unacknowledged segment is lost.
    if (c.dupAcks >= DUP_THRESH && !c.inRecovery && !c.rtoRecovery) found = sent.markLostOnce(sent.at(0));
  } else if (c.config.recovery === "rack") {
    found = rackDetectLoss(c, now) > 0 || sent.waitingBytes > 0;
  } else {
    found = rfc6675MarkLost(c) > 0;
  }
  if (found) {
    c.wantOutput = true;
    if (!c.inRecovery && !c.rtoRecovery && geq(c.sndUna, c.recoveryPoint)) enterRecovery(c);
  }
}

/**
 * RFC 6675 §4 IsLost(): a segment is lost when DupThresh segments, or more than (DupThresh − 1) ×
 * SMSS bytes, above it were SACKed; and §5 (4.3): DupThresh duplicate ACKs make the first
 * unacknowledged segment lost. Marks from where the last call stopped, so each ACK costs the
 * segments it newly concerns. Returns the number marked.
 */
function rfc6675MarkLost(c: TcpConnection): number {
  const sent = c.sent;
  let marked = 0;
  if (c.dupAcks >= DUP_THRESH && sent.markLostOnce(sent.at(0))) marked++;
  if (sent.sackedCount === 0) return marked;
  // Walk down from the highest SACKed segment to where enough is SACKed above.
  let i = sent.find(add(sent.sackedEnd, -1));
  let n = 0;
  let bytes = 0;
  for (; i >= 0; i--) {
    const p = sent.at(i);
    if (sent.flags(p) & SACKED) {
      n++;
      bytes += sent.length(p);
      if (n >= DUP_THRESH || bytes > (DUP_THRESH - 1) * c.sndMss) break;
    }
  }
  if (i <= 0) return marked;
  const boundary = sent.start(sent.at(i));
  let j = sent.find(max(c.lostScanned, c.sndUna));
  if (j < 0) return marked;
  for (; j < i; j++) if (sent.markLostOnce(sent.at(j))) marked++;
  c.lostScanned = boundary;
  return marked;
}

/** RFC 6675 §5 (4) / RFC 6582 §3.2 (2)–(3): a loss outside recovery starts fast recovery. */
export function enterRecovery(c: TcpConnection): void {
  const flight = sub(c.sndMax, c.sndUna);
  c.cc.onCongestion(c.window, flight, c.lastNow);
  c.inRecovery = true;
  c.recoveryPoint = c.sndMax;
  c.rttTiming = false; // Karn: no samples from retransmitted data
  // RFC 6675 §5 (4.2): cwnd = ssthresh; RFC 6582 §3.2 (2)-(3): cwnd = ssthresh + 3 × SMSS.
  c.window.cwnd = c.sackOk ? c.window.ssthresh : c.window.ssthresh + 3 * c.sndMss;
  // The first retransmission goes whatever pipe says (RFC 6675 §5 (4.3), RFC 6582 (3)).
  c.rtxForce = true;
  // Recovery answers for the tail too: no probe episode runs beside it (Linux
  // tcp_init_cwnd_reduction).
  c.rack.tlpEndSeq = -1;
  c.tlpAt = -1;
  c.stats.fastRecoveries++;
  c.wantOutput = true;
}

/**
 * RFC 8985 §7.4: a tail loss probe retransmitted a segment that was lost, and nothing else
 * reported that loss: the window is reduced once, as for a loss repaired in recovery (Linux
 * enters CWR for it).
 */
export function tlpRepairedLoss(c: TcpConnection): void {
  c.cc.onCongestion(c.window, sub(c.sndMax, c.sndUna), c.lastNow);
  if (c.window.cwnd > c.window.ssthresh) c.window.cwnd = c.window.ssthresh;
  c.stats.lossProbeRecoveries++;
}

/**
 * An ACK of new data during recovery: the whole window acknowledged ends it (RFC 6675 §5,
 * RFC 6582 §3.2 (5)); a partial acknowledgment without SACK resends the next hole at once and
 * deflates cwnd (RFC 6582 §3.2 (5)). The recovery after a timeout ends likewise (RFC 6675 §5.1).
 */
export function recoveryAck(c: TcpConnection, ack: number, acked: number): void {
  if (c.rtoRecovery && geq(ack, c.recoveryPoint)) {
    c.rtoRecovery = false;
    rackRecoveryEnded(c);
  }
  if (!c.inRecovery) return;
  if (geq(ack, c.recoveryPoint)) {
    c.inRecovery = false;
    const flight = sub(c.sndMax, c.sndUna);
    c.window.cwnd = c.sackOk
      ? c.window.ssthresh
      : Math.min(c.window.ssthresh, Math.max(flight, c.sndMss) + c.sndMss);
    rackRecoveryEnded(c);
  } else if (!c.sackOk) {
    if (c.sent.count > 0 && c.sent.markLostOnce(c.sent.at(0))) c.rtxForce = true;
    c.window.cwnd = Math.max(c.window.cwnd - acked + c.sndMss, c.sndMss);
  }
}

/**
 * RFC 6298 (5.4)–(5.6) with RFC 6675 §5.1 and RFC 8985 §6.3: after a retransmission timeout the
 * SACK information stays (unless the peer reneged: the first unacknowledged segment is SACKed,
 * RFC 2018 §8), and what is deemed lost — every segment not SACKed, or with RACK those that had
 * RACK.rtt to be acknowledged — is resent in order as the window opens from one segment. Nothing
 * the peer reported holding is sent again.
 */
export function timeoutMarkLost(c: TcpConnection, now: number): void {
  const sent = c.sent;
  c.inRecovery = false;
  c.rtoRecovery = true;
  c.dupAcks = 0;
  c.recoveryPoint = c.sndMax; // RFC 6582 §4 / RFC 6675 §5.1: no fast recovery for this window
  c.rack.tlpEndSeq = -1;
  c.tlpAt = -1;
  c.rackAt = -1;
  if (sent.count === 0) return;
  if (sent.flags(sent.at(0)) & SACKED) sent.clearSacks(now);
  if (c.sackOk && c.config.recovery === "rack") rackMarkLostOnTimeout(c, now);
  else for (let i = 0; i < sent.count; i++) sent.markLost(sent.at(i));
  c.lostScanned = c.sndMax;
  c.rtxForce = true;
}
