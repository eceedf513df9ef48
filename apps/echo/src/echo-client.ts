import type { Stack } from "@userstack/sockets";

/** Bytes handed to one send(): the word repeated, built once and sent again and again. */
const SEND_CHUNK = 64 * 1024;
/** Received bytes kept to print back; beyond, only compared. */
const KEEP_LIMIT = 1 << 20;

/** How far an {@link echo} has got. */
export interface EchoProgress {
  sent: number;
  received: number;
  total: number;
  elapsedMs: number;
}

/** What {@link echo} found. */
export interface EchoResult {
  /** The bytes that came back (when at most 1 MiB; otherwise only compared on the fly). */
  received: Uint8Array | undefined;
  /** Bytes sent and bytes received back (equal on success). */
  total: number;
  /** recv() calls it took: TCP has no message boundaries, so one word may arrive in many pieces. */
  recvCalls: number;
  elapsedMs: number;
  /** The local end the stack picked. */
  local: { address: string; port: number };
}

/** The echo did not match what was sent. */
export class EchoMismatch extends Error {
  readonly code = "EMISMATCH";
}

/**
 * The classic TCPEchoClient on userstack's BSD-style sockets: connect, send the word, then
 * receive until as many bytes came back as were sent — in as many recv() calls as it takes —
 * then close. With `total` larger than the word, the word is repeated to that many bytes, sent
 * while receiving (both at once: the server stops reading once our receive buffer is full), and
 * compared byte by byte as it comes back, without keeping it.
 */
export async function echo(
  stack: Stack,
  address: string,
  port: number,
  word: Uint8Array,
  options: { total?: number; onProgress?: (p: EchoProgress) => void; progressEveryMs?: number } = {},
): Promise<EchoResult> {
  const total = options.total ?? word.length;
  if (word.length === 0 || total < word.length)
    throw new RangeError("echo(): the word must not be empty, and total must be at least its length.");
  const s = stack.socket();
  const start = performance.now();
  await s.connect(address, port);
  const local = s.localAddress();
  let sent = 0;
  let received = 0;
  let recvCalls = 0;
  const progress = () =>
    options.onProgress?.({ sent, received, total, elapsedMs: performance.now() - start });
  const timer = options.onProgress ? setInterval(progress, options.progressEveryMs ?? 250) : undefined;
  const keep = total <= KEEP_LIMIT ? new Uint8Array(total) : undefined;
  try {
    const sending = (async () => {
      const chunk = repeated(word, Math.max(word.length, Math.floor(SEND_CHUNK / word.length) * word.length));
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        await s.send(chunk.subarray(0, n));
        sent += n;
      }
    })();
    sending.catch(() => {}); // awaited below; a failed recv() must not leave it unhandled
    // Receive until every byte sent came back: one recv() may return part of a word, or several.
    while (received < total) {
      const b = await s.recv(total - received);
      recvCalls++;
      if (b.length === 0)
        throw Object.assign(
          new Error(`the server closed the connection after echoing ${received} of ${total} bytes.`),
          { code: "ECONNRESET" },
        );
      for (let i = 0; i < b.length; i++) {
        if (b[i] !== word[(received + i) % word.length])
          throw new EchoMismatch(`the echo differs from what was sent at byte ${received + i}.`);
      }
      keep?.set(b, received);
      received += b.length;
    }
    await sending;
  } finally {
    clearInterval(timer);
    await s.close();
  }
  progress();
  return { received: keep, total, recvCalls, elapsedMs: performance.now() - start, local };
}

function repeated(word: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += word.length)
    out.set(word.subarray(0, Math.min(word.length, length - at)), at);
  return out;
}
