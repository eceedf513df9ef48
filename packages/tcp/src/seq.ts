// Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4): "the sequence number space is finite,
// though very large ... all arithmetic dealing with sequence numbers must be performed modulo
// 2^32". Comparisons take the signed 32-bit difference, which is right while the two numbers are
// less than 2^31 apart — always true for a window of at most 2^30 (RFC 7323 §2.3). Every sequence
// comparison in this package goes through here (smoltcp's `SeqNumber`).

/** `a < b` in sequence space. */
export function lt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** `a <= b` in sequence space. */
export function leq(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** `a > b` in sequence space. */
export function gt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** `a >= b` in sequence space. */
export function geq(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** `a + n` modulo 2^32, as an unsigned 32-bit number (`n` may be negative). */
export function add(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** The signed distance `a - b` in sequence space (positive when `a` is after `b`). */
export function sub(a: number, b: number): number {
  return (a - b) | 0;
}

/** `start <= s < start + size` in sequence space; false for an empty window (RFC 9293 §3.4). */
export function inWindow(s: number, start: number, size: number): boolean {
  return (s - start) >>> 0 < size;
}

/** The later of two sequence numbers. */
export function max(a: number, b: number): number {
  return ((a - b) | 0) >= 0 ? a : b;
}

/** The earlier of two sequence numbers. */
export function min(a: number, b: number): number {
  return ((a - b) | 0) <= 0 ? a : b;
}
