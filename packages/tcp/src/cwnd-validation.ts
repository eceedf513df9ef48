import type { TcpConnection } from "./connection.js";
import { pipe } from "./recovery.js";
import { geq } from "./seq.js";

// Congestion window validation as Linux does it (tcp_cwnd_validate, tcp_is_cwnd_limited; the
// idea of RFC 7661 §4): the window grows on ACKs only while it is what limits the sender. A flow
// held back by the peer's window or by the application would otherwise grow cwnd without bound
// (to tens of megabytes over a 4 MiB window), and its first loss response would then cut nothing.

/**
 * After a burst: whether it stopped because of cwnd (`limited`), and how much was in flight, for
 * the current window of data (until SND.UNA passes what was sent then).
 */
export function cwndValidate(c: TcpConnection, limited: boolean): void {
  const flight = pipe(c);
  if (geq(c.sndUna, c.cwndUsageSeq) || limited || (!c.cwndLimited && flight > c.maxFlight)) {
    c.cwndLimited = limited;
    c.maxFlight = flight;
    c.cwndUsageSeq = c.sndNxt;
  }
}

/** cwnd may grow: it limited the sender in this window, or slow start has not reached twice what was used. */
export function cwndMayGrow(c: TcpConnection): boolean {
  if (c.cwndLimited) return true;
  const w = c.window;
  return w.cwnd < w.ssthresh && w.cwnd < 2 * c.maxFlight;
}
