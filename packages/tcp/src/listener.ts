import { ChunkPools } from "./chunk-pool.js";
import { configMss, type TcpConfig } from "./config.js";
import { type ConnectionParent, TcpConnection } from "./connection.js";
import { TcpEvent } from "./events.js";
import { established, negotiate } from "./segment-arrives.js";
import { TcpSegmentOut, type TcpSink } from "./segment-out.js";
import { add } from "./seq.js";
import { newDrops, type TcpDrops } from "./stats.js";
import { checkCookie, cookieIsn, cookieTsOptions, cookieTsVal } from "./syn-cookie.js";
import type { TcpOption } from "./tcp-option.js";
import { TcpFlag, type TcpView } from "./tcp-segment.js";
import type { TupleHash } from "./tuple-hash.js";
import { abort } from "./user-calls.js";

/** Stateless replies (resets, cookie SYN-ACKs) waiting for dispatch; more are dropped (a flood). */
const MAX_REPLIES = 64;

/** Listener counters. */
export interface TcpListenerStats {
  segmentsIn: number;
  segmentsOut: number;
  /** SYNs that created a half-open connection. */
  synReceived: number;
  /** SYN-ACKs sent with a cookie because the SYN queue was full. */
  cookiesSent: number;
  /** Connections created from a valid cookie ACK. */
  cookiesAccepted: number;
  /** Resets sent for ACKs that matched nothing (RFC 9293 §3.10.7.2). */
  resetsSent: number;
  /** Replies not queued because MAX_REPLIES were already waiting. */
  repliesDropped: number;
  drops: TcpDrops;
}

class Reply {
  localAddress = 0;
  remoteAddress = 0;
  localPort = 0;
  remotePort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  mss = 0;
  wscale = -1;
  sackOk = false;
  hasTs = false;
  tsVal = 0;
  tsEcr = 0;
}

const OUT = new TcpSegmentOut();
// Reused option objects: a SYN flood answered with cookies allocates nothing per reply.
const NOP: TcpOption = { kind: 1 };
const MSS_OPT = { kind: 2 as const, mss: 0 };
const WS_OPT = { kind: 3 as const, shift: 0 };
const SACK_PERM: TcpOption = { kind: 4 };
const TS_OPT = { kind: 8 as const, tsVal: 0, tsEcr: 0 };
const SYN_ACK_OPTS: TcpOption[] = [];

/**
 * A passive OPEN on a local port (RFC 9293 §3.10.7.2, LISTEN). It creates a connection per
 * acceptable SYN and keeps it in a bounded SYN queue until the handshake completes, then in the
 * accept queue (`backlog`). When the SYN queue is full it answers with SYN cookies (RFC 4987
 * §3.6) and keeps no state, so a SYN flood costs no memory.
 *
 * The glue routes here every segment whose 4-tuple has no connection. A TcpConnection returned
 * by {@link input} must be put in the glue's 4-tuple table at once (it has a SYN-ACK to send);
 * it reaches the application through {@link accept} once ESTABLISHED.
 */
export class TcpListener implements ConnectionParent {
  state: "LISTEN" | "CLOSED" = "LISTEN";
  events = 0;
  readonly stats: TcpListenerStats = {
    segmentsIn: 0,
    segmentsOut: 0,
    synReceived: 0,
    cookiesSent: 0,
    cookiesAccepted: 0,
    resetsSent: 0,
    repliesDropped: 0,
    drops: newDrops(),
  };
  private readonly halfOpen = new Set<TcpConnection>();
  private readonly acceptQueue: TcpConnection[] = [];
  private readonly replies: Reply[] = Array.from({ length: MAX_REPLIES }, () => new Reply());
  private replyHead = 0;
  private replyCount = 0;
  private lastNow = 0;

  constructor(
    private readonly hash: TupleHash,
    readonly config: TcpConfig,
    /** Local address, or 0 for any. */
    readonly localAddress: number,
    readonly localPort: number,
    /** Ring storage for the connections it creates (the engine's). */
    private readonly pools: ChunkPools = new ChunkPools(0),
  ) {}

  /** Half-open connections (SYN-RECEIVED). */
  get synQueueLength(): number {
    return this.halfOpen.size;
  }

  /** Connections waiting for {@link accept}. */
  get acceptQueueLength(): number {
    return this.acceptQueue.length;
  }

  /**
   * SEGMENT ARRIVES in LISTEN. `remoteAddress`/`localAddress` are the IPv4 source and destination
   * of the segment. Returns a new connection (in SYN-RECEIVED, or ESTABLISHED from a SYN cookie)
   * that the glue must register under its 4-tuple and dispatch; otherwise undefined (the listener
   * may have queued a reply: call {@link dispatch}). Never throws.
   */
  input(seg: TcpView, now: number, remoteAddress: number, localAddress: number): TcpConnection | undefined {
    this.lastNow = now;
    this.stats.segmentsIn++;
    if (this.state === "CLOSED") {
      if (!seg.rst) this.queueReset(seg, remoteAddress, localAddress);
      return undefined;
    }
    // "first check for an RST: an incoming RST should be ignored".
    if (seg.rst) return undefined;
    // "second check for an ACK: any acknowledgment is bad if it arrives on a connection still in
    // the LISTEN state. An acceptable reset segment should be formed: <SEQ=SEG.ACK><CTL=RST>" —
    // unless it completes a SYN cookie handshake.
    if (seg.ackFlag) {
      if (!seg.syn && this.config.synCookies) {
        const c = this.fromCookie(seg, now, remoteAddress, localAddress);
        if (c !== undefined) return c;
      }
      this.stats.drops.badCookie++;
      this.queueReset(seg, remoteAddress, localAddress);
      return undefined;
    }
    // "third check for a SYN"
    if (!seg.syn) {
      this.stats.drops.noAck++;
      return undefined;
    }
    if (seg.fin) {
      // SYN+FIN is no way to open a connection (a scanner's probe): Linux discards it.
      this.stats.drops.badSyn++;
      return undefined;
    }
    if (this.acceptQueue.length >= this.config.backlog) {
      // Linux drops SYNs while the accept queue is full; the peer retries.
      this.stats.drops.listenOverflow++;
      return undefined;
    }
    if (this.halfOpen.size >= this.config.synQueueSize) {
      if (this.config.synCookies) this.queueCookie(seg, now, remoteAddress, localAddress);
      else this.stats.drops.listenOverflow++;
      return undefined;
    }
    const c = new TcpConnection(
      this.config,
      localAddress,
      this.localPort,
      remoteAddress,
      seg.sourcePort,
      this.pools,
    );
    c.parent = this;
    c.iss = this.hash.isn(now, localAddress, this.localPort, remoteAddress, seg.sourcePort);
    c.tsOffset = this.hash.tsOffset(localAddress, remoteAddress);
    c.sndUna = c.iss;
    c.sndNxt = c.iss;
    c.sndMax = c.iss;
    c.sndBufSeq = add(c.iss, 1);
    c.recoveryPoint = c.iss;
    c.irs = seg.seq;
    c.rcvNxt = add(seg.seq, 1);
    c.rcvAdvEdge = c.rcvNxt;
    negotiate(c, seg, now);
    // RFC 7323 §2.2: the window of a SYN is not scaled.
    c.sndWnd = seg.window;
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = seg.seq;
    c.sndWl2 = c.iss;
    c.lastNow = now;
    c.lastReceiveTime = now;
    c.stats.segmentsIn++;
    // Data on a SYN is not accepted (no TCP Fast Open); the peer resends it after the handshake.
    c.setState("SYN-RECEIVED");
    c.synPending = true;
    c.wantOutput = true;
    this.halfOpen.add(c);
    this.stats.synReceived++;
    return c;
  }

  private fromCookie(seg: TcpView, now: number, ra: number, la: number): TcpConnection | undefined {
    const iss = add(seg.ack, -1);
    const irs = add(seg.seq, -1);
    const mss = checkCookie(this.hash, la, this.localPort, ra, seg.sourcePort, irs, iss, now);
    if (mss < 0) return undefined;
    if (this.acceptQueue.length >= this.config.backlog) {
      this.stats.drops.listenOverflow++;
      return undefined;
    }
    const c = new TcpConnection(this.config, la, this.localPort, ra, seg.sourcePort, this.pools);
    c.parent = this;
    c.iss = iss;
    c.sndUna = seg.ack;
    c.sndNxt = seg.ack;
    c.sndMax = seg.ack;
    c.sndBufSeq = seg.ack;
    c.recoveryPoint = seg.ack;
    c.irs = irs;
    c.rcvNxt = seg.seq;
    c.lastAckSent = seg.seq;
    c.tsOffset = this.hash.tsOffset(la, ra);
    const tsOpts = seg.hasTimestamps && this.config.timestamps ? cookieTsOptions(seg.tsEcr) : undefined;
    // Rebuild what negotiate() would have set from the SYN, as far as the cookie remembers it.
    c.tsOk = tsOpts !== undefined;
    if (c.tsOk) {
      c.tsRecent = seg.tsVal;
      c.tsRecentTime = now;
      c.hasTsRecent = true;
    }
    c.sackOk = (tsOpts?.sackOk ?? false) && this.config.sack;
    if (tsOpts !== undefined && tsOpts.wscale >= 0 && this.config.windowScaling) {
      c.sndWscale = tsOpts.wscale;
      c.rcvWscale = c.offeredWscale;
      c.wsAgreed = true;
    }
    c.rcvMss = configMss(this.config);
    c.sndMss = Math.max(64, Math.min(mss, this.config.mtu - 40) - (c.tsOk ? 12 : 0));
    c.window.mss = c.sndMss;
    c.window.cwnd = this.config.initialCwnd * c.sndMss;
    // Our cookie SYN-ACK advertised min(buffer, 65535) unscaled.
    c.rcvAdvEdge = add(c.rcvNxt, Math.min(this.config.receiveBufferSize, 0xffff));
    c.sndWnd = seg.window << c.sndWscale;
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = seg.seq;
    c.sndWl2 = seg.ack;
    c.accepted = true;
    this.acceptQueue.push(c);
    this.events |= TcpEvent.Acceptable;
    this.stats.cookiesAccepted++;
    established(c, now);
    // The ACK may carry data (or FIN): the connection processes it as any segment.
    c.input(seg, now);
    return c;
  }

  private nextReply(): Reply | undefined {
    if (this.replyCount === MAX_REPLIES) {
      this.stats.repliesDropped++;
      return undefined;
    }
    const r = this.replies[(this.replyHead + this.replyCount) % MAX_REPLIES]!;
    this.replyCount++;
    return r;
  }

  private queueReset(seg: TcpView, ra: number, la: number): void {
    const r = this.nextReply();
    if (r === undefined) return;
    r.localAddress = la;
    r.remoteAddress = ra;
    r.localPort = seg.destinationPort;
    r.remotePort = seg.sourcePort;
    if (seg.ackFlag) {
      r.seq = seg.ack;
      r.ack = 0;
      r.flags = TcpFlag.RST;
    } else {
      r.seq = 0;
      r.ack = add(seg.seq, seg.segmentLength);
      r.flags = TcpFlag.RST | TcpFlag.ACK;
    }
    r.window = 0;
    r.mss = 0;
    r.hasTs = false;
    r.wscale = -1;
    r.sackOk = false;
    this.stats.resetsSent++;
  }

  private queueCookie(seg: TcpView, now: number, ra: number, la: number): void {
    const r = this.nextReply();
    if (r === undefined) return;
    const cfg = this.config;
    const peerMss = seg.mss >= 0 ? seg.mss : 536;
    r.localAddress = la;
    r.remoteAddress = ra;
    r.localPort = this.localPort;
    r.remotePort = seg.sourcePort;
    r.seq = cookieIsn(this.hash, la, this.localPort, ra, seg.sourcePort, seg.seq, peerMss, now);
    r.ack = add(seg.seq, 1);
    r.flags = TcpFlag.SYN | TcpFlag.ACK;
    r.window = Math.min(cfg.receiveBufferSize, 0xffff);
    r.mss = configMss(cfg);
    r.hasTs = cfg.timestamps && seg.hasTimestamps;
    // Without timestamps the cookie cannot carry window scale or SACK: they are not offered.
    const ws = cfg.windowScaling && r.hasTs && seg.windowScale >= 0;
    let offered = 0;
    while (offered < 14 && cfg.receiveBufferSize >>> offered > 0xffff) offered++;
    r.wscale = ws ? offered : -1;
    r.sackOk = r.hasTs && cfg.sack && seg.sackPermitted;
    if (r.hasTs) {
      const tsNow = (Math.floor(now) + this.hash.tsOffset(la, ra)) >>> 0;
      r.tsVal = cookieTsVal(tsNow, ws ? seg.windowScale : -1, r.sackOk);
      r.tsEcr = seg.tsVal;
    }
    this.stats.cookiesSent++;
  }

  /** Emits queued resets and cookie SYN-ACKs through `sink`; returns how many. */
  dispatch(now: number, sink: TcpSink, budget = Number.POSITIVE_INFINITY): number {
    this.lastNow = now;
    let sent = 0;
    while (this.replyCount > 0 && sent < budget) {
      const r = this.replies[this.replyHead]!;
      this.replyHead = (this.replyHead + 1) % MAX_REPLIES;
      this.replyCount--;
      const h = OUT.header;
      OUT.localAddress = r.localAddress;
      OUT.remoteAddress = r.remoteAddress;
      h.sourcePort = r.localPort;
      h.destinationPort = r.remotePort;
      h.seq = r.seq;
      h.ack = r.ack;
      h.flags = r.flags;
      h.window = r.window;
      h.urgentPointer = 0;
      const o = SYN_ACK_OPTS;
      o.length = 0;
      if (r.flags & TcpFlag.SYN) {
        // Linux's layout, as the connection's own SYN-ACK (dispatch.ts emitSyn).
        MSS_OPT.mss = r.mss;
        o.push(MSS_OPT);
        if (r.hasTs) {
          if (r.sackOk) o.push(SACK_PERM);
          else o.push(NOP, NOP);
          TS_OPT.tsVal = r.tsVal;
          TS_OPT.tsEcr = r.tsEcr;
          o.push(TS_OPT);
        }
        if (r.wscale >= 0) {
          WS_OPT.shift = r.wscale;
          o.push(NOP, WS_OPT);
        }
      }
      h.options = o;
      OUT.clearPayload();
      this.stats.segmentsOut++;
      sent++;
      sink(OUT);
    }
    return sent;
  }

  /** When {@link dispatch} must run: now when replies wait, else undefined. */
  deadline(): number | undefined {
    return this.replyCount > 0 ? this.lastNow : undefined;
  }

  /** Returns the accumulated {@link TcpEvent} bits (Acceptable) and clears them. */
  takeEvents(): number {
    const e = this.events;
    this.events = 0;
    return e;
  }

  /** The oldest completed connection, or undefined. It may have failed since: check its state. */
  accept(): TcpConnection | undefined {
    const c = this.acceptQueue.shift();
    if (this.acceptQueue.length > 0) this.events |= TcpEvent.Acceptable;
    return c;
  }

  /**
   * Stops listening: every connection not yet accepted (half-open or queued) is aborted (RST).
   * Returns them so the glue can dispatch their resets and drop them from its table.
   */
  close(now: number): TcpConnection[] {
    this.state = "CLOSED";
    const gone = [...this.halfOpen, ...this.acceptQueue];
    this.acceptQueue.length = 0;
    for (const c of gone) {
      c.accepted = true; // detach before the state change reports back
      abort(c, now);
    }
    this.halfOpen.clear();
    return gone;
  }

  // ConnectionParent

  /** @internal */
  childEstablished(c: TcpConnection): boolean {
    if (this.state === "CLOSED" || this.acceptQueue.length >= this.config.backlog) return false;
    this.halfOpen.delete(c);
    c.accepted = true;
    this.acceptQueue.push(c);
    this.events |= TcpEvent.Acceptable;
    return true;
  }

  /** @internal */
  childGone(c: TcpConnection): void {
    this.halfOpen.delete(c);
  }
}
