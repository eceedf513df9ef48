import { MAX_SOCKET_PATH } from "./socket-path.js";

/**
 * A failure to start the daemon or to reach it, with Node's `code` and a message of one sentence
 * that says what to do.
 */
export class DaemonError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "DaemonError";
  }
}

/** The client could not connect to the daemon's socket. */
export function connectError(path: string, e: Error & { code?: string }): DaemonError {
  const code = e.code ?? "EIO";
  switch (code) {
    case "ENOENT":
      return new DaemonError(
        code,
        `userstack: no daemon is running at ${path} (ENOENT); start one with \`userstackd --socket ${path}\`, or pass the path your daemon serves.`,
      );
    case "ECONNREFUSED":
      return new DaemonError(
        code,
        `userstack: ${path} is left over from a daemon that stopped (ECONNREFUSED); start \`userstackd --socket ${path}\` again (it replaces the stale file).`,
      );
    case "EACCES":
    case "EPERM":
      return new DaemonError(
        code,
        `userstack: permission denied on ${path} (${code}); the daemon's socket is private to the user who started it (mode 0600): run as that user, or start the daemon with --mode 0660 and a group you share.`,
      );
    case "ENOTSOCK":
      return new DaemonError(
        code,
        `userstack: ${path} is not a socket (ENOTSOCK); pass the path userstackd printed when it started.`,
      );
    default:
      return new DaemonError(code, `userstack: cannot reach the daemon at ${path} (${code}: ${e.message}).`);
  }
}

/** The daemon could not listen on its socket path. */
export function listenError(path: string, e: Error & { code?: string }): DaemonError {
  const code = e.code ?? "EIO";
  switch (code) {
    case "EADDRINUSE":
      return new DaemonError(
        code,
        `userstackd: ${path} is in use by another running daemon; stop that one, or pass --socket with another path.`,
      );
    case "EACCES":
    case "EPERM":
      return new DaemonError(
        code,
        `userstackd: cannot create ${path} (${code}): you may not write to its directory; pass --socket with a path in a directory you own, such as $XDG_RUNTIME_DIR.`,
      );
    case "ENOENT":
      return new DaemonError(
        code,
        `userstackd: cannot create ${path} (ENOENT): its directory does not exist; create it, or pass --socket with another path.`,
      );
    case "ENAMETOOLONG":
      return new DaemonError(
        code,
        `userstackd: ${path} is longer than the ${MAX_SOCKET_PATH} bytes a UNIX socket path may have; pass --socket with a shorter path.`,
      );
    case "ENOTSOCK":
      return new DaemonError(
        "EADDRINUSE",
        `userstackd: ${path} exists and is not a socket; remove it yourself, or pass --socket with another path.`,
      );
    default:
      return new DaemonError(code, `userstackd: cannot listen on ${path} (${code}: ${e.message}).`);
  }
}
