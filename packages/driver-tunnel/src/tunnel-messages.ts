// The sentences a newcomer reads when something is wrong: what happened, and what to do.

/** The error `listen()` rejects with: Node's code kept, the message saying what to do. */
export function listenError(
  e: Error & { code?: string },
  address: string,
  port: number,
): Error & { code?: string } {
  const where = `${address}:${port}`;
  let message: string;
  switch (e.code) {
    case "EADDRINUSE":
      message = `userstack tunnel: ${where} is already in use (EADDRINUSE) — another tunnel or a chitcpd is listening there; stop it, or pass { port } with a free port (0 picks one).`;
      break;
    case "EADDRNOTAVAIL":
      message = `userstack tunnel: ${address} is not an address of this machine (EADDRNOTAVAIL) — pass { address } with one of this host's own IPv4 addresses, such as 127.0.0.1.`;
      break;
    case "EACCES":
      message = `userstack tunnel: not allowed to listen on ${where} (EACCES) — ports below 1024 need root; use a higher { port }, such as 23300.`;
      break;
    default:
      message = `userstack tunnel: cannot listen on ${where}: ${e.message}.`;
  }
  return Object.assign(new Error(message, { cause: e }), { code: e.code });
}

/** Why a peer could not be reached, with what to check. */
export function unreachableMessage(
  endpoint: string,
  e: (Error & { code?: string }) | undefined,
  timeoutMs: number,
): string {
  switch (e?.code) {
    case "ECONNREFUSED":
      return `userstack tunnel: cannot reach the tunnel at ${endpoint} (ECONNREFUSED) — nothing listens there; start the other host's tunnel on that port, or fix the route (routes / peerPort). Segments to it are lost until it answers.`;
    case "ETIMEDOUT":
      return `userstack tunnel: the tunnel at ${endpoint} did not answer within ${timeoutMs} ms (ETIMEDOUT) — check the address and any firewall between the hosts. Segments to it are lost until it answers.`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `userstack tunnel: no route to ${endpoint} (${e.code}) — check that the address is right and the host is on a network this machine reaches.`;
    default:
      return `userstack tunnel: cannot reach the tunnel at ${endpoint}${e ? ` (${e.code ?? e.message})` : ""} — check that its tunnel is running and the address and port are right.`;
  }
}

/** A connection dropped for breaking the protocol. */
export function streamFaultMessage(from: string, peer: string | undefined, why: string): string {
  return `userstack tunnel: dropped the connection from ${from}${peer ? ` (peer ${peer})` : ""}: it ${why} — is the other end a userstack tunnel or chitcpd in the same mode? Other peers are not affected.`;
}
