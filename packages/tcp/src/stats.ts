/** Segments a connection or listener dropped, by reason (each also answered as the RFC says). */
export interface TcpDrops {
  /** Sequence number outside the receive window (RFC 9293 §3.10.7.4 first check). */
  outOfWindow: number;
  /** Timestamp older than TS.Recent (RFC 7323 §5 PAWS). */
  paws: number;
  /** ACK for data never sent or too old (RFC 5961 §5.2), or a bad ACK in SYN-SENT/SYN-RECEIVED. */
  badAck: number;
  /** RST not exactly at RCV.NXT (RFC 5961 §3.2); answered with a challenge ACK when in window. */
  badRst: number;
  /** SYN on a synchronized connection (RFC 5961 §4). */
  badSyn: number;
  /** Segment without ACK in a state that needs one, or without SYN/RST/ACK in SYN-SENT. */
  noAck: number;
  /** Data that did not fit the receive buffer. */
  noBuffer: number;
  /** Out-of-order data needing more ranges than `maxOutOfOrderRanges`. */
  outOfOrderFull: number;
  /** Out-of-order data not stored because the engine's connections held `bufferLimit` bytes. */
  memoryPressure: number;
  /** Data after the application closed (answered with RST, RFC 2525 §2.17). */
  afterClose: number;
  /** Rate-limited ACK replies not sent (RFC 5961 §7). */
  rateLimited: number;
  /** Listener: SYN dropped because the accept queue or the SYN queue was full (no cookies). */
  listenOverflow: number;
  /** Listener: an ACK that matched no SYN cookie (answered with RST). */
  badCookie: number;
}

/** Per-connection counters, like `ss -i`. Bytes count payload only. */
export interface TcpStats {
  segmentsIn: number;
  segmentsOut: number;
  /** Payload bytes received in order (delivered to the receive buffer). */
  bytesIn: number;
  /** Payload bytes sent for the first time. */
  bytesOut: number;
  /** Payload bytes the peer acknowledged. */
  bytesAcked: number;
  /** Segments sent again (timeouts, fast retransmit, recovery). */
  retransmits: number;
  /** Retransmission timeouts. */
  timeouts: number;
  /** Entries into fast recovery. */
  fastRecoveries: number;
  /** Tail loss probes sent (RFC 8985 §7). */
  lossProbes: number;
  /** Losses a tail loss probe repaired, answered by one window reduction (RFC 8985 §7.4). */
  lossProbeRecoveries: number;
  /** Retransmissions found lost again by RACK (RFC 8985 §6.2; Linux TCPLostRetransmit). */
  lostRetransmits: number;
  /** DSACK blocks received: segments that reached the peer twice (RFC 2883). */
  dsacks: number;
  /** Bytes newly reported by SACK blocks. */
  sackedBytes: number;
  /** Duplicate ACKs received (RFC 5681 §2 definition). */
  dupAcks: number;
  /** Out-of-order segments received and kept. */
  outOfOrder: number;
  /** Zero-window probes sent. */
  windowProbes: number;
  /** Keepalive probes sent. */
  keepAliveProbes: number;
  /** Challenge ACKs sent (RFC 5961). */
  challengeAcks: number;
  drops: TcpDrops;
}

export function newDrops(): TcpDrops {
  return {
    outOfWindow: 0,
    paws: 0,
    badAck: 0,
    badRst: 0,
    badSyn: 0,
    noAck: 0,
    noBuffer: 0,
    outOfOrderFull: 0,
    memoryPressure: 0,
    afterClose: 0,
    rateLimited: 0,
    listenOverflow: 0,
    badCookie: 0,
  };
}

export function newStats(): TcpStats {
  return {
    segmentsIn: 0,
    segmentsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    bytesAcked: 0,
    retransmits: 0,
    timeouts: 0,
    fastRecoveries: 0,
    lossProbes: 0,
    lossProbeRecoveries: 0,
    lostRetransmits: 0,
    dsacks: 0,
    sackedBytes: 0,
    dupAcks: 0,
    outOfOrder: 0,
    windowProbes: 0,
    keepAliveProbes: 0,
    challengeAcks: 0,
    drops: newDrops(),
  };
}

/** Copies every counter of `from` into `into` (its `drops` object included, reused). */
export function copyStats(from: TcpStats, into: TcpStats): void {
  into.segmentsIn = from.segmentsIn;
  into.segmentsOut = from.segmentsOut;
  into.bytesIn = from.bytesIn;
  into.bytesOut = from.bytesOut;
  into.bytesAcked = from.bytesAcked;
  into.retransmits = from.retransmits;
  into.timeouts = from.timeouts;
  into.fastRecoveries = from.fastRecoveries;
  into.lossProbes = from.lossProbes;
  into.lossProbeRecoveries = from.lossProbeRecoveries;
  into.lostRetransmits = from.lostRetransmits;
  into.dsacks = from.dsacks;
  into.sackedBytes = from.sackedBytes;
  into.dupAcks = from.dupAcks;
  into.outOfOrder = from.outOfOrder;
  into.windowProbes = from.windowProbes;
  into.keepAliveProbes = from.keepAliveProbes;
  into.challengeAcks = from.challengeAcks;
  const d = from.drops;
  const e = into.drops;
  e.outOfWindow = d.outOfWindow;
  e.paws = d.paws;
  e.badAck = d.badAck;
  e.badRst = d.badRst;
  e.badSyn = d.badSyn;
  e.noAck = d.noAck;
  e.noBuffer = d.noBuffer;
  e.outOfOrderFull = d.outOfOrderFull;
  e.memoryPressure = d.memoryPressure;
  e.afterClose = d.afterClose;
  e.rateLimited = d.rateLimited;
  e.listenOverflow = d.listenOverflow;
  e.badCookie = d.badCookie;
}
