import { ChunkPools } from "./chunk-pool.js";
import { configMss, type TcpConfig } from "./config.js";
import type { CongestionControl, CongestionWindow } from "./congestion-control.js";
import { Cubic } from "./cubic.js";
import { dispatch } from "./dispatch.js";
import { type TcpErrorCode, TcpEvent, type TcpIcmpError } from "./events.js";
import { NewReno } from "./newreno.js";
import { RackState } from "./rack.js";
import { ReceiveBuffer } from "./receive-buffer.js";
import { RttEstimator } from "./rtt-estimator.js";
import { segmentArrives } from "./segment-arrives.js";
import type { TcpSink } from "./segment-out.js";
import { SendBuffer } from "./send-buffer.js";
import { maxRecordsFor, SentSegments } from "./sent-segments.js";
import { add, sub } from "./seq.js";
import { copyStats, newDrops, newStats, type TcpStats } from "./stats.js";
import type { TcpView } from "./tcp-segment.js";
import { icmpError, keepAliveApplies, nextDeadline } from "./timeouts.js";
import { abort, close, receive, send, shutdown } from "./user-calls.js";

/** The connection states of RFC 9293 §3.3.2, spelled as the RFC spells them. */
export type TcpState =
  | "CLOSED"
  | "LISTEN"
  | "SYN-SENT"
  | "SYN-RECEIVED"
  | "ESTABLISHED"
  | "FIN-WAIT-1"
  | "FIN-WAIT-2"
  | "CLOSE-WAIT"
  | "CLOSING"
  | "LAST-ACK"
  | "TIME-WAIT";

/** What `input()` tells the glue to do with the segment afterwards. */
export const TcpInput = {
  /** The connection consumed the segment. */
  Done: 0,
  /**
   * The connection was in TIME-WAIT and accepted a new SYN as a reason to end (RFC 9293
   * §3.10.7.4, RFC 6191): it is now CLOSED; remove it and hand the same segment to the listener.
   */
  Reopen: 1,
} as const;
export type TcpInput = (typeof TcpInput)[keyof typeof TcpInput];

/** A snapshot of a connection for monitoring (RFC 9293 §3.10.6 STATUS, `ss -i`). Times in ms. */
export interface TcpStatus extends TcpStats {
  state: TcpState;
  srtt: number;
  rttvar: number;
  rto: number;
  minRtt: number;
  /** Congestion window, bytes. */
  cwnd: number;
  /** Slow-start threshold, bytes (Infinity before the first loss). */
  ssthresh: number;
  /** Effective send MSS (payload bytes per segment). */
  mss: number;
  /** Peer's receive window, bytes. */
  sendWindow: number;
  /** Our advertised window, bytes: the one our last segment carried. */
  receiveWindow: number;
  /** Bytes sent and not yet acknowledged. */
  inFlight: number;
  /** Bytes queued in the send buffer (in flight or not yet sent). */
  sendQueued: number;
  /** Bytes waiting in the receive buffer. */
  receiveQueued: number;
  /** Bytes of storage the send and receive rings hold now (0 when idle: see `ChunkPools`). */
  bufferBytes: number;
  /** Bytes the peer SACKed above SND.UNA now. */
  sackedNow: number;
  congestionControl: string;
  windowScaling: boolean;
  timestamps: boolean;
  sack: boolean;
}

/**
 * An empty status, every field present in one order (an object literal, not a spread: V8 builds a
 * spread of this many fields in dictionary mode, about 100 µs a call on Node 20).
 */
function newStatus(): TcpStatus {
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
    state: "CLOSED",
    srtt: 0,
    rttvar: 0,
    rto: 0,
    minRtt: 0,
    cwnd: 0,
    ssthresh: 0,
    mss: 0,
    sendWindow: 0,
    receiveWindow: 0,
    inFlight: 0,
    sendQueued: 0,
    receiveQueued: 0,
    bufferBytes: 0,
    sackedNow: 0,
    congestionControl: "",
    windowScaling: false,
    timestamps: false,
    sack: false,
  };
}

/** Parent of a passively opened connection (the listener); internal contract. */
export interface ConnectionParent {
  /** A child reached ESTABLISHED: true when it was queued for accept(), false when the accept queue is full. */
  childEstablished(c: TcpConnection): boolean;
  /** A child in SYN-RECEIVED went away. */
  childGone(c: TcpConnection): void;
}

/**
 * One TCP connection: the transmission control block of RFC 9293 §3.3.1 with its buffers, timers
 * and congestion state, driven from outside (sans-IO).
 *
 * - Inputs: {@link input} (a decoded, checksum-verified segment), {@link icmpError}, the user
 *   calls ({@link write}, {@link read}, {@link shutdown}, {@link close}, {@link abort}), each with `now`
 *   (ms, any monotonic origin).
 * - Outputs: {@link dispatch} emits every segment due now through a sink; {@link deadline} says
 *   when to call it next; {@link takeEvents} returns what happened since the last call.
 *
 * Create one with `TcpEngine.connect()` (active open) or receive it from `TcpListener.input()`
 * (passive open).
 */
export class TcpConnection {
  state: TcpState = "CLOSED";
  /** Why the connection failed, once it has. */
  error: TcpErrorCode | undefined = undefined;
  /** Accumulated {@link TcpEvent} bits. */
  events = 0;
  readonly stats: TcpStats = newStats();

  // RFC 9293 §3.3.1 send sequence variables, plus SND.MAX (highest sequence sent, as BSD keeps it)
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  sndMax = 0;
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  /** Largest window the peer offered (RFC 9293 §3.8.6.2.1, RFC 5961 MAX.SND.WND). */
  maxSndWnd = 0;
  /** Sequence number of the first byte in the send buffer. */
  sndBufSeq = 0;
  /** shutdown() or close() was called: a FIN follows the queued data. */
  finQueued = false;

  // Receive sequence variables
  irs = 0;
  rcvNxt = 0;
  /** Right edge of the window we advertised (RCV.NXT + RCV.WND then), the furthest we accept. */
  rcvAdvEdge = 0;
  /** The window our last segment carried, bytes (its field, scaled): what the peer sees now. */
  lastWindowSent = 0;
  /** RCV.NXT in the last ACK we sent (RFC 7323 Last.ACK.sent). */
  lastAckSent = 0;
  /** The peer's FIN arrived (and was in order). */
  finReceived = false;
  /** Sequence number of a FIN that arrived out of order, or -1. */
  pendingFinSeq = -1;

  // Negotiated options
  /** Payload bytes per segment we send (peer's MSS, our MTU, minus option overhead). */
  sndMss = 536;
  /** MSS we offered. */
  rcvMss = 0;
  sndWscale = 0;
  rcvWscale = 0;
  /** Both sides sent the window scale option (RFC 7323 §2.2), even with a shift of 0. */
  wsAgreed = false;
  /** Window scale we offer in our SYN. */
  readonly offeredWscale: number = 0;
  tsOk = false;
  sackOk = false;
  tsRecent = 0;
  tsRecentTime = 0;
  hasTsRecent = false;
  tsOffset = 0;

  // Buffers, made when the connection first needs them (a SYN-RECEIVED child stays small); their
  // storage is taken from the engine's chunk pools as data queues and given back as it drains,
  // and they are dropped in TIME-WAIT and CLOSED.
  sendBuffer: SendBuffer | undefined = undefined;
  receiveBuffer: ReceiveBuffer | undefined = undefined;

  // Congestion control and loss recovery (RFC 5681, 6582, 6675, 8985)
  readonly window: CongestionWindow;
  readonly cc: CongestionControl;
  dupAcks = 0;
  /** In fast recovery (Linux TCP_CA_Recovery). */
  inRecovery = false;
  /** Recovering from a retransmission timeout until RecoveryPoint is acknowledged (Linux TCP_CA_Loss). */
  rtoRecovery = false;
  /** RFC 6582 "recover" / RFC 6675 RecoveryPoint. */
  recoveryPoint = 0;
  /** The next retransmission goes whatever pipe says (RFC 6675 §5 (4.3), RFC 6582 §3.2 (3)). */
  rtxForce = false;
  /** The last bursts were held back by cwnd in the current window (see cwnd-validation.ts). */
  cwndLimited = false;
  /** Most bytes in flight in the current window while not cwnd-limited. */
  maxFlight = 0;
  /** The window over which {@link cwndLimited} and {@link maxFlight} are tracked ends here. */
  cwndUsageSeq = 0;
  /** RFC 6675 IsLost() has judged the segments below this sequence number. */
  lostScanned = 0;
  /** The segments in flight: ranges, transmit times, SACKed/lost/retransmitted (the scoreboard). */
  readonly sent: SentSegments;
  /** RACK-TLP variables (RFC 8985). */
  readonly rack = new RackState();

  // RTT (RFC 6298; RFC 7323 §4 with timestamps)
  readonly rtt: RttEstimator;
  rttTiming = false;
  rttSeq = 0;
  rttTime = 0;

  // Timers: absolute deadlines in ms, -1 when stopped (RFC 9293 §3.8, §3.10.8)
  rtoAt = -1;
  /** RACK reordering timer (RFC 8985 §6.2 step 5). */
  rackAt = -1;
  /** Tail loss probe timeout, PTO (RFC 8985 §7.2). */
  tlpAt = -1;
  persistAt = -1;
  delAckAt = -1;
  keepAliveAt = -1;
  timeWaitAt = -1;
  finWait2At = -1;
  /** When the oldest unacknowledged data was first sent (TCP_USER_TIMEOUT), or -1. */
  unackedSince = -1;
  /** Consecutive retransmission timeouts (SYN, SYN-ACK or data). */
  retries = 0;
  persistBackoff = 0;
  probesOut = 0;
  keepAliveProbesOut = 0;

  // What dispatch owes
  /** Send an ACK now. */
  ackNow = false;
  /** Send (or resend) our SYN or SYN-ACK. */
  synPending = false;
  /** Send a probe (zero window or keepalive): seq SND.UNA − 1, no data, as Linux does. */
  probeNow = false;
  /** The PTO fired: send a tail loss probe (RFC 8985 §7.3). */
  tlpPending = false;
  /** The persist timer fired with a small but open window: send into it despite SWS avoidance. */
  overrideSws = false;
  /** A reset to send: its sequence number, ack number and flags. */
  rstPending = false;
  rstSeq = 0;
  rstAck = 0;
  rstFlags = 0;
  /** dispatch may have something to send. */
  wantOutput = false;
  /** Out-of-order segments received since the last ACK: each is owed its own duplicate ACK (RFC 5681 §4.2). */
  dupAcksOwed = 0;
  /** Segments received since the last ACK we sent (RFC 1122 §4.2.3.2: ACK every second). */
  unackedSegments = 0;
  /** Delayed ACK timeout now (adaptive between delayedAckMin and delayedAckMax). */
  ato = 0;
  /** When the last in-order data segment arrived. */
  lastDataTime = 0;
  /** Immediate ACKs left at the start (Linux quickack mode). */
  quickAcks = 16;
  lastRateLimitedAck = Number.NEGATIVE_INFINITY;
  lastSendTime = 0;
  lastReceiveTime = 0;
  lastNow = 0;
  /** Time the SYN was first sent (for the first RTT sample without timestamps). */
  synSentAt = -1;
  /** The user called close(): no more reads, a FIN-WAIT-2 timeout applies. */
  userClosed = false;
  /** A soft error (ICMP) to report if the connection times out (RFC 1122 §4.2.3.9). */
  softError: TcpErrorCode | undefined = undefined;
  /** Passive open: the listener that made this connection. */
  parent: ConnectionParent | undefined = undefined;
  /** Established and counted by the listener. */
  accepted = false;

  constructor(
    /** Settings; shared with the engine or listener until a setter makes this connection its own copy. */
    public config: TcpConfig,
    readonly localAddress: number,
    readonly localPort: number,
    readonly remoteAddress: number,
    readonly remotePort: number,
    /** Storage for the rings, shared with the engine's other connections. */
    private readonly pools: ChunkPools = new ChunkPools(0),
  ) {
    this.rcvMss = configMss(config);
    let ws = 0;
    while (ws < 14 && config.receiveBufferSize >>> ws > 0xffff) ws++;
    this.offeredWscale = config.windowScaling ? ws : 0;
    this.cc = config.congestionControl === "newreno" ? new NewReno() : new Cubic();
    this.window = { cwnd: config.initialCwnd * 536, ssthresh: Number.POSITIVE_INFINITY, mss: 536 };
    this.rtt = new RttEstimator(config.initialRto, config.minRto, config.maxRto);
    this.ato = config.delayedAckMin;
    this.sent = new SentSegments(pools, maxRecordsFor(config.sendBufferSize));
  }

  /** Makes the send and receive buffers if not yet done (they hold no storage until data comes). */
  allocateBuffers(): void {
    if (this.sendBuffer === undefined)
      // A segment carries at most MTU − 40 payload bytes (sndMss never exceeds it).
      this.sendBuffer = new SendBuffer(
        this.config.sendBufferSize,
        Math.max(this.config.mtu - 40, 64),
        this.pools,
      );
    if (this.receiveBuffer === undefined)
      this.receiveBuffer = new ReceiveBuffer(
        this.config.receiveBufferSize,
        this.config.maxOutOfOrderRanges,
        this.pools,
      );
  }

  /**
   * TIME-WAIT and CLOSED send nothing more: the send buffer goes, and the receive buffer as soon
   * as nothing in it will be read (at once when empty or after close(), else once read).
   */
  releaseBuffers(): void {
    if (this.sendBuffer !== undefined) {
      this.sendBuffer.release();
      this.sendBuffer = undefined;
    }
    this.sent.release();
    const rb = this.receiveBuffer;
    if (rb !== undefined && (rb.readable === 0 || this.userClosed)) {
      rb.release();
      this.receiveBuffer = undefined;
    }
  }

  /** The engine's connections hold `bufferLimit` bytes or more: out-of-order data is not stored. */
  get overBufferLimit(): boolean {
    return this.pools.heldBytes >= this.pools.limit;
  }

  /** Bytes of storage the send and receive buffers (and the record of segments in flight) hold now. */
  get bufferBytes(): number {
    return (this.sendBuffer?.heldBytes ?? 0) + (this.receiveBuffer?.heldBytes ?? 0) + this.sent.heldBytes;
  }

  // ---- inputs ----

  /**
   * SEGMENT ARRIVES (RFC 9293 §3.10.7) for this connection. `seg` must be decoded and its
   * checksum verified by the caller. Never throws; a bad segment is counted and dropped or
   * answered. Call {@link dispatch} afterwards to send what it produced.
   */
  input(seg: TcpView, now: number): TcpInput {
    this.lastNow = now;
    this.stats.segmentsIn++;
    return segmentArrives(this, seg, now);
  }

  /**
   * An ICMP error about this connection (RFC 1122 §4.2.3.9, RFC 5927). `seq` is the sequence
   * number quoted in the ICMP payload (checked against SND.UNA..SND.NXT, RFC 5927 §4.1). For
   * `frag-needed`, `mtu` is the next-hop MTU (RFC 1191). Unreachable errors abort a connection
   * that is still opening (ECONNREFUSED for port/protocol, EHOSTUNREACH/ENETUNREACH otherwise) and
   * are kept as the soft error an established connection reports if it later times out.
   * Returns false when the error was ignored.
   */
  icmpError(kind: TcpIcmpError, seq: number, now: number, mtu = 0): boolean {
    this.lastNow = now;
    return icmpError(this, kind, seq, mtu);
  }

  // ---- user calls (RFC 9293 §3.10.1–6) ----

  /**
   * SEND: copies as much of `data` as fits into the send buffer and returns the count (0 when
   * full: wait for {@link TcpEvent.Writable}). Returns -1 when the connection can no longer send
   * (after shutdown/close, or failed): the glue reports EPIPE or {@link error}.
   */
  write(data: Uint8Array, now: number): number {
    this.lastNow = now;
    return send(this, data, now);
  }

  /**
   * RECEIVE: copies readable bytes into `out` and returns the count; 0 when nothing is readable
   * yet; -1 at the end of stream (the peer's FIN, after all its data) or after a failure.
   * Reading opens the receive window; a window update is sent by the next dispatch when due.
   */
  read(out: Uint8Array, now: number): number {
    this.lastNow = now;
    return receive(this, out, now);
  }

  /** Bytes ready for {@link read}. */
  get readableLength(): number {
    return this.receiveBuffer?.readable ?? 0;
  }

  /** True once the peer's FIN arrived and every byte before it was read. */
  get readEnded(): boolean {
    return this.finReceived && this.readableLength === 0;
  }

  /** Bytes {@link write} would take now. */
  get writableLength(): number {
    if (this.finQueued || this.state === "CLOSED" || this.state === "TIME-WAIT") return 0;
    return this.sendBuffer?.free ?? this.config.sendBufferSize;
  }

  /** Bytes written and not yet acknowledged. */
  get sendQueued(): number {
    return this.sendBuffer?.length ?? 0;
  }

  /** Half-close (shutdown(SHUT_WR)): a FIN follows the queued data; reading goes on. */
  shutdown(now: number): void {
    this.lastNow = now;
    shutdown(this, now);
  }

  /**
   * CLOSE: shutdown plus giving up reading. With unread received data (or data arriving later),
   * the connection is reset instead, as Linux does (RFC 2525 §2.17).
   */
  close(now: number): void {
    this.lastNow = now;
    close(this, now);
  }

  /** ABORT: sends RST (in a synchronized state) and goes to CLOSED at once. */
  abort(now: number): void {
    this.lastNow = now;
    abort(this, now);
  }

  /** TCP_NODELAY (Node's `socket.setNoDelay()`): turns Nagle's algorithm off or back on. */
  setNoDelay(noDelay: boolean, now: number): void {
    this.lastNow = now;
    if (this.config.noDelay === noDelay) return;
    this.config = { ...this.config, noDelay };
    this.wantOutput = true; // data Nagle held back may go now
  }

  /**
   * SO_KEEPALIVE (Node's `socket.setKeepAlive(enable, initialDelay)`): `idle` ms of silence before
   * the first probe (0 keeps the current value).
   */
  setKeepAlive(enable: boolean, idle: number, now: number): void {
    this.lastNow = now;
    this.config = {
      ...this.config,
      keepAlive: enable,
      keepAliveIdle: idle > 0 ? idle : this.config.keepAliveIdle,
    };
    this.keepAliveProbesOut = 0;
    this.keepAliveAt = enable && keepAliveApplies(this.state) ? now + this.config.keepAliveIdle : -1;
  }

  // ---- outputs ----

  /**
   * Runs due timers and emits every segment due now (data, retransmissions, ACKs, window
   * updates, probes, SYN, FIN, RST) through `sink`, at most `budget` of them. Returns the
   * number emitted.
   */
  dispatch(now: number, sink: TcpSink, budget = Number.POSITIVE_INFINITY): number {
    this.lastNow = now;
    return dispatch(this, now, sink, budget);
  }

  /** When {@link dispatch} must run next (ms), or undefined when nothing is pending. */
  deadline(): number | undefined {
    return nextDeadline(this);
  }

  /** Returns the accumulated {@link TcpEvent} bits and clears them. */
  takeEvents(): number {
    const e = this.events;
    this.events = 0;
    return e;
  }

  /**
   * STATUS (RFC 9293 §3.10.6): a snapshot of the state and counters. With `into` (an object an
   * earlier call returned) it is filled in place and nothing is allocated, for a glue that
   * polls many connections.
   */
  status(into?: TcpStatus): TcpStatus {
    const st = into ?? newStatus();
    copyStats(this.stats, st);
    st.state = this.state;
    st.srtt = this.rtt.srtt;
    st.rttvar = this.rtt.rttvar;
    st.rto = this.rtt.rto;
    st.minRtt = this.rtt.minRtt;
    st.cwnd = this.window.cwnd;
    st.ssthresh = this.window.ssthresh;
    st.mss = this.sndMss;
    st.sendWindow = this.sndWnd;
    st.receiveWindow = this.lastWindowSent;
    st.inFlight = sub(this.sndMax, this.sndUna);
    st.sendQueued = this.sendQueued;
    st.receiveQueued = this.readableLength;
    st.bufferBytes = this.bufferBytes;
    st.sackedNow = this.sent.sackedBytes;
    st.congestionControl = this.cc.name;
    st.windowScaling = this.sndWscale > 0 || this.rcvWscale > 0;
    st.timestamps = this.tsOk;
    st.sack = this.sackOk;
    return st;
  }

  // ---- internal helpers shared by the §3.10 modules ----

  /** Enters `state`, raising the events the glue needs. */
  setState(state: TcpState): void {
    this.state = state;
    if (state === "TIME-WAIT") this.releaseBuffers();
    if (state === "CLOSED") {
      this.releaseBuffers();
      this.rtoAt = this.persistAt = this.delAckAt = this.keepAliveAt = this.timeWaitAt = this.finWait2At = -1;
      this.rackAt = this.tlpAt = -1;
      this.events |= TcpEvent.Closed | TcpEvent.Readable | TcpEvent.Writable;
      if (this.parent !== undefined && !this.accepted) this.parent.childGone(this);
    }
  }

  /** Fails the connection with `code`: CLOSED, error event. */
  fail(code: TcpErrorCode): void {
    this.error = code;
    this.events |= TcpEvent.Error;
    this.setState("CLOSED");
  }

  /** Queues a reset segment for the next dispatch. */
  queueReset(seq: number, ack: number, withAck: boolean): void {
    this.rstPending = true;
    this.rstSeq = seq >>> 0;
    this.rstAck = ack >>> 0;
    this.rstFlags = withAck ? 0x14 : 0x04;
    this.wantOutput = true;
  }

  /** Our TSval now (ms clock plus the per-connection offset, RFC 7323 §5.4). */
  tsNow(now: number): number {
    return (Math.floor(now) + this.tsOffset) >>> 0;
  }

  /** End of queued data in sequence space (where a FIN goes). */
  dataEnd(): number {
    return add(this.sndBufSeq, this.sendBuffer?.length ?? 0);
  }

  /** Our FIN was sent and acknowledged. */
  finAcked(): boolean {
    return this.finQueued && this.sndUna === add(this.dataEnd(), 1) && this.sndMax === this.sndUna;
  }
}
