import type { TcpConnection } from "./connection.js";
import { TcpEvent } from "./events.js";
import { add, sub } from "./seq.js";

// RFC 9293 §3.10.1–3.10.6: the user calls, one function each. OPEN lives in TcpEngine.connect()
// (active) and TcpListener (passive); STATUS is TcpConnection.status().

/** §3.10.1 OPEN, active: choose the ISN, queue the SYN, enter SYN-SENT. */
export function openActive(c: TcpConnection, iss: number, tsOffset: number, now: number): void {
  c.iss = iss >>> 0;
  c.sndUna = c.iss;
  c.sndNxt = c.iss;
  c.sndMax = c.iss;
  c.sndBufSeq = add(c.iss, 1);
  c.recoveryPoint = c.iss;
  c.tsOffset = tsOffset;
  c.allocateBuffers();
  c.synPending = true;
  c.wantOutput = true;
  c.lastReceiveTime = now;
  c.setState("SYN-SENT");
}

/** §3.10.2 SEND: queue data; segmentation happens in dispatch. */
export function send(c: TcpConnection, data: Uint8Array, _now: number): number {
  switch (c.state) {
    case "CLOSED":
    case "LISTEN":
    case "FIN-WAIT-1":
    case "FIN-WAIT-2":
    case "CLOSING":
    case "LAST-ACK":
    case "TIME-WAIT":
      // "error: connection closing" / "connection does not exist".
      return -1;
    default:
      // SYN-SENT and SYN-RECEIVED queue the data "for transmission after entering ESTABLISHED".
      if (c.finQueued) return -1;
      c.allocateBuffers();
      if (data.length === 0) return 0;
      {
        const n = c.sendBuffer!.write(data);
        if (n > 0) c.wantOutput = true;
        return n;
      }
  }
}

/** §3.10.3 RECEIVE: copy in-order bytes out; a window update follows when it is worth one. */
export function receive(c: TcpConnection, out: Uint8Array, _now: number): number {
  const rb = c.receiveBuffer;
  if (rb === undefined || rb.readable === 0) {
    if (c.finReceived || c.state === "CLOSED") return -1;
    return 0;
  }
  const n = rb.read(out);
  // RFC 1122 §4.2.3.3 (receiver SWS avoidance): announce the larger window only once it grew by
  // min(RCV.BUFF / 2, MSS); RFC 9293 §3.8.6.2.2. Not after the peer's FIN (CLOSE-WAIT, CLOSING,
  // LAST-ACK, TIME-WAIT): no more data can come, and in TIME-WAIT the peer may be gone already,
  // its RST to our update then ending TIME-WAIT early.
  if (n > 0 && !c.finReceived && isSynchronized(c.state)) {
    const advertised = sub(c.rcvAdvEdge, c.rcvNxt);
    const grown = windowWeCanOffer(c) - Math.max(advertised, 0);
    if (grown >= Math.min(rb.capacity >>> 1, c.rcvMss)) {
      c.ackNow = true;
      c.wantOutput = true;
    }
  }
  if (rb.readable > 0) c.events |= TcpEvent.Readable;
  else if (c.state === "TIME-WAIT" || c.state === "CLOSED") c.releaseBuffers(); // read to the end
  return n;
}

/** Receive space we could offer now. */
export function windowWeCanOffer(c: TcpConnection): number {
  return c.receiveBuffer === undefined ? c.config.receiveBufferSize : c.receiveBuffer.space;
}

export function isSynchronized(state: string): boolean {
  return state !== "CLOSED" && state !== "LISTEN" && state !== "SYN-SENT" && state !== "SYN-RECEIVED";
}

/** Half of §3.10.4 CLOSE: queue a FIN after the data (shutdown(SHUT_WR)). */
export function shutdown(c: TcpConnection, _now: number): void {
  switch (c.state) {
    case "CLOSED":
    case "LISTEN":
      return;
    case "SYN-SENT":
      // §3.10.4: "delete the TCB" — nothing was synchronized, nothing to tell the peer.
      c.setState("CLOSED");
      return;
    case "SYN-RECEIVED":
    case "ESTABLISHED":
      // SYN-RECEIVED: "if no SENDs have been issued and there is no pending data to send, then
      // form a FIN segment ... otherwise, queue for processing after entering ESTABLISHED".
      if (c.finQueued) return;
      c.finQueued = true;
      c.allocateBuffers();
      if (c.state === "ESTABLISHED") c.setState("FIN-WAIT-1");
      c.wantOutput = true;
      return;
    case "CLOSE-WAIT":
      if (c.finQueued) return;
      c.finQueued = true;
      c.setState("LAST-ACK");
      c.wantOutput = true;
      return;
    default:
      // FIN-WAIT-*, CLOSING, LAST-ACK, TIME-WAIT: already closing.
      return;
  }
}

/**
 * §3.10.4 CLOSE. Linux resets instead of closing gracefully when received data was never read
 * (RFC 2525 §2.17: the peer must learn its data was lost).
 */
export function close(c: TcpConnection, now: number): void {
  if (c.state === "CLOSED") return;
  c.userClosed = true;
  if (c.state === "TIME-WAIT") {
    // Both FINs are acknowledged: nothing to tell the peer, and a reset now would only end
    // TIME-WAIT early (its purpose, RFC 9293 §3.6, outlives the socket as in Linux, where the
    // socket is gone and a timewait entry remains). Unread data is discarded.
    c.releaseBuffers();
    return;
  }
  const unread = (c.receiveBuffer?.readable ?? 0) + (c.receiveBuffer?.rangeCount ?? 0);
  if (unread > 0 && isSynchronized(c.state)) {
    c.stats.drops.afterClose++;
    abort(c, now);
    return;
  }
  shutdown(c, now);
  if (c.state === "FIN-WAIT-2" && c.finWait2At < 0) c.finWait2At = now + c.config.finWait2Timeout;
}

/** §3.10.5 ABORT: RST in synchronized states (and SYN-RECEIVED), then CLOSED. */
export function abort(c: TcpConnection, _now: number): void {
  switch (c.state) {
    case "CLOSED":
    case "LISTEN":
    case "SYN-SENT":
    case "CLOSING":
    case "LAST-ACK":
    case "TIME-WAIT":
      // "enter CLOSED state and delete the TCB" without a reset in these states (§3.10.5).
      break;
    default:
      // <SEQ=SND.NXT><CTL=RST>, with SND.MAX as SND.NXT may have been rewound after a timeout
      c.queueReset(c.sndMax, 0, false);
  }
  c.userClosed = true;
  c.setState("CLOSED");
}
