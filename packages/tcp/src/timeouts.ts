import type { TcpConnection, TcpState } from "./connection.js";
import type { TcpIcmpError } from "./events.js";
import { rackDetectLoss, tlpMayProbe } from "./rack.js";
import { enterRecovery, timeoutMarkLost } from "./recovery.js";
import { add, geq, leq, sub } from "./seq.js";

// RFC 9293 §3.10.8 TIMEOUTS: user timeout, retransmission timeout, time-wait timeout; plus the
// timers RFC 1122 adds (delayed ACK §4.2.3.2, persist §4.2.2.17, keepalive §4.2.3.6) and Linux's
// FIN-WAIT-2 timeout. Timers are deadlines in the TCB; nothing is scheduled — nextDeadline()
// tells the glue when to call dispatch, which runs runTimers first.

export function runTimers(c: TcpConnection, now: number): void {
  if (c.state === "CLOSED") return;
  if (c.timeWaitAt >= 0 && now >= c.timeWaitAt) {
    timeWaitTimeout(c);
    return;
  }
  if (c.finWait2At >= 0 && now >= c.finWait2At) {
    finWait2Timeout(c);
    return;
  }
  if (c.config.userTimeout > 0 && c.unackedSince >= 0 && now - c.unackedSince >= c.config.userTimeout) {
    userTimeout(c);
    return;
  }
  if (c.tlpAt >= 0 && now >= c.tlpAt) {
    // RFC 8985 §7.3: the probe goes out with this dispatch, and the RTO is armed afresh after
    // it. A PTO capped at the RTO's expiry (one segment in flight: 2·SRTT + 200 ms) fires in its
    // place, as Linux's single timer does.
    c.tlpAt = -1;
    if (tlpMayProbe(c)) {
      c.tlpPending = true;
      c.rtoAt = now + c.rtt.rto;
      c.wantOutput = true;
    }
  }
  if (c.rtoAt >= 0 && now >= c.rtoAt) retransmissionTimeout(c, now);
  if (isClosed(c)) return;
  if (c.rackAt >= 0 && now >= c.rackAt) reorderTimeout(c, now);
  if (c.persistAt >= 0 && now >= c.persistAt) persistTimeout(c);
  if (isClosed(c)) return;
  if (c.delAckAt >= 0 && now >= c.delAckAt) {
    c.delAckAt = -1;
    c.ackNow = true;
  }
  if (c.keepAliveAt >= 0 && now >= c.keepAliveAt) keepAliveTimeout(c, now);
}

// A timer handler may close the connection; a call keeps TypeScript from narrowing the state.
function isClosed(c: TcpConnection): boolean {
  return c.state === "CLOSED";
}

/** The earliest deadline, or `lastNow` when output is already due, or undefined. */
export function nextDeadline(c: TcpConnection): number | undefined {
  if (c.rstPending) return c.lastNow;
  if (c.state === "CLOSED") return undefined;
  if (c.wantOutput || c.ackNow || c.synPending || c.probeNow) return c.lastNow;
  let t = Number.POSITIVE_INFINITY;
  if (c.rtoAt >= 0 && c.rtoAt < t) t = c.rtoAt;
  if (c.rackAt >= 0 && c.rackAt < t) t = c.rackAt;
  if (c.tlpAt >= 0 && c.tlpAt < t) t = c.tlpAt;
  if (c.persistAt >= 0 && c.persistAt < t) t = c.persistAt;
  if (c.delAckAt >= 0 && c.delAckAt < t) t = c.delAckAt;
  if (c.keepAliveAt >= 0 && c.keepAliveAt < t) t = c.keepAliveAt;
  if (c.timeWaitAt >= 0 && c.timeWaitAt < t) t = c.timeWaitAt;
  if (c.finWait2At >= 0 && c.finWait2At < t) t = c.finWait2At;
  if (c.config.userTimeout > 0 && c.unackedSince >= 0) {
    const u = c.unackedSince + c.config.userTimeout;
    if (u < t) t = u;
  }
  return t === Number.POSITIVE_INFINITY ? undefined : t;
}

/** §3.10.8 USER TIMEOUT: "flush all queues, signal the user 'error: connection aborted due to user timeout'". */
function userTimeout(c: TcpConnection): void {
  if (c.state !== "SYN-SENT") c.queueReset(c.sndMax, 0, false);
  c.fail(c.softError ?? "ETIMEDOUT");
}

/**
 * §3.10.8 RETRANSMISSION TIMEOUT with RFC 6298 §5: back off the timer (5.5), restart it (5.6),
 * retransmit the earliest unacknowledged segment (5.4) and, as the window grows again from one
 * segment, every other segment deemed lost — not what the peer SACKed (RFC 6675 §5.1, RFC 8985
 * §6.3; see timeoutMarkLost). Gives up with ETIMEDOUT after synRetries / synAckRetries /
 * maxRetries timeouts (Linux tcp_retries2).
 */
function retransmissionTimeout(c: TcpConnection, now: number): void {
  c.rtoAt = -1;
  const limit =
    c.state === "SYN-SENT"
      ? c.config.synRetries
      : c.state === "SYN-RECEIVED"
        ? c.config.synAckRetries
        : c.config.maxRetries;
  if (c.retries >= limit) {
    if (c.state === "SYN-RECEIVED" && c.parent !== undefined) {
      // A half-open passive connection just goes away (Linux drops the request silently).
      c.setState("CLOSED");
      return;
    }
    if (c.state !== "SYN-SENT" && c.state !== "SYN-RECEIVED") c.queueReset(c.sndMax, 0, false);
    c.fail(c.softError ?? "ETIMEDOUT");
    return;
  }
  c.retries++;
  c.stats.timeouts++;
  c.rtt.backOff();
  c.rttTiming = false; // Karn's algorithm
  if (c.state === "SYN-SENT" || c.state === "SYN-RECEIVED") {
    c.synPending = true;
    c.stats.retransmits++;
    c.rtoAt = now + c.rtt.rto;
    c.wantOutput = true;
    return;
  }
  if (c.sndMax === c.sndUna) return; // nothing outstanding (a stale timer)
  const flight = sub(c.sndMax, c.sndUna);
  c.cc.onTimeout(c.window, flight, now);
  timeoutMarkLost(c, now);
  c.rtoAt = now + c.rtt.rto;
  c.wantOutput = true;
}

/**
 * RFC 8985 §6.2 step 5: the reordering timer — segments that were waiting out the reordering
 * window are judged again; a loss found outside recovery starts it (Linux tcp_rack_reo_timeout).
 */
function reorderTimeout(c: TcpConnection, now: number): void {
  c.rackAt = -1;
  if (c.sndMax === c.sndUna) return;
  if (rackDetectLoss(c, now) === 0) return;
  c.wantOutput = true;
  if (!c.inRecovery && !c.rtoRecovery && geq(c.sndUna, c.recoveryPoint)) enterRecovery(c);
}

/** RFC 1122 §4.2.2.17: probe a zero window, backing off like the RTO; the connection stays open while the peer answers. */
function persistTimeout(c: TcpConnection): void {
  c.persistAt = -1;
  if (c.probesOut >= c.config.maxRetries) {
    c.queueReset(c.sndMax, 0, false);
    c.fail(c.softError ?? "ETIMEDOUT");
    return;
  }
  c.probesOut++;
  c.persistBackoff++;
  c.stats.windowProbes++;
  // RFC 9293 §3.8.6.2.1: the override timeout sends what a small window allows (as Linux's
  // tcp_write_wakeup does); a closed window gets a zero-length probe.
  if (sub(add(c.sndUna, c.sndWnd), c.sndNxt) > 0) c.overrideSws = true;
  else c.probeNow = true;
  // Rearmed by dispatch while the window stays closed; the backoff doubles each time.
  c.wantOutput = true;
}

/** RFC 1122 §4.2.3.6 keepalive: after idle time, probes at intervals; count unanswered, then ETIMEDOUT. */
/** States that send keepalive probes (a connection that can go idle with its peer still there). */
export function keepAliveApplies(state: TcpState): boolean {
  return state === "ESTABLISHED" || state === "CLOSE-WAIT" || state === "FIN-WAIT-2";
}

function keepAliveTimeout(c: TcpConnection, now: number): void {
  if (!keepAliveApplies(c.state)) {
    c.keepAliveAt = -1;
    return;
  }
  if (c.keepAliveProbesOut >= c.config.keepAliveCount) {
    c.queueReset(c.sndMax, 0, false);
    c.fail(c.softError ?? "ETIMEDOUT");
    return;
  }
  c.keepAliveProbesOut++;
  c.stats.keepAliveProbes++;
  c.probeNow = true;
  c.wantOutput = true;
  c.keepAliveAt = now + c.config.keepAliveInterval;
}

/** §3.10.8 TIME-WAIT TIMEOUT: "delete the TCB, enter the CLOSED state". */
function timeWaitTimeout(c: TcpConnection): void {
  c.setState("CLOSED");
}

/** Linux tcp_fin_timeout: an orphaned FIN-WAIT-2 connection is reset and closed. */
function finWait2Timeout(c: TcpConnection): void {
  c.queueReset(c.sndMax, c.rcvNxt, true);
  c.setState("CLOSED");
}

/**
 * RFC 1122 §4.2.3.9 and RFC 5927: an ICMP error about this connection. Destination unreachable
 * aborts a connection still opening (hard error) and is only a soft error afterwards. Fragmentation needed
 * lowers the MSS (RFC 1191 §6) and resends what is in flight at the new size.
 */
export function icmpError(c: TcpConnection, kind: TcpIcmpError, seq: number, mtu: number): boolean {
  if (c.state === "CLOSED" || c.state === "TIME-WAIT") return false;
  // RFC 5927 §4.1: the quoted sequence number must be in flight, else it is forged or stale.
  if (!(geq(seq, c.sndUna) && leq(seq, c.sndMax))) return false;
  if (kind === "frag-needed") {
    if (mtu < 68) return false;
    const mss = Math.max(mtu - 40 - (c.tsOk ? 12 : 0), 64);
    if (mss >= c.sndMss) return false;
    c.sndMss = mss;
    c.window.mss = mss;
    // Resend what is outstanding and not SACKed at the smaller size, without a congestion
    // response (RFC 1191 §6.5).
    const sent = c.sent;
    for (let i = 0; i < sent.count; i++) sent.markLost(sent.at(i));
    c.wantOutput = true;
    return true;
  }
  const code =
    kind === "port-unreachable" || kind === "protocol-unreachable"
      ? "ECONNREFUSED"
      : kind === "net-unreachable"
        ? "ENETUNREACH"
        : "EHOSTUNREACH";
  // Linux tcp_v4_err: fatal while opening; afterwards a soft error (sk_err_soft) that becomes the
  // reported error only if the connection then times out.
  if (c.state === "SYN-SENT" || c.state === "SYN-RECEIVED") {
    c.fail(code);
    return true;
  }
  c.softError = code;
  return true;
}
