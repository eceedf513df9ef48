import type { Stack } from "@userstack/sockets";

/**
 * Waits until every connection of `stack` has finished its closing handshake (only TIME-WAIT, or
 * nothing, left) or `ms` pass, so a program that closed its sockets can then close the stack
 * without resetting connections whose FIN is still in flight.
 */
export async function settle(stack: Stack, ms = 1000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (stack.stats().every((c) => c.state === "TIME-WAIT" || c.state === "CLOSED")) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}
