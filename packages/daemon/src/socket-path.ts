import { tmpdir } from "node:os";
import { join } from "node:path";

/** The longest path a UNIX socket address holds on Linux (sun_path is 108 bytes with its NUL). */
export const MAX_SOCKET_PATH = 107;

/**
 * Where `userstackd` listens and {@link connectDaemon} looks when given no path:
 * `$USERSTACKD_SOCKET`, else `$XDG_RUNTIME_DIR/userstackd.sock` (a per-user directory), else
 * `<tmpdir>/userstackd-<uid>.sock`.
 */
export function defaultSocketPath(): string {
  const env = process.env.USERSTACKD_SOCKET;
  if (env) return env;
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (runtime) return join(runtime, "userstackd.sock");
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  return join(tmpdir(), `userstackd-${uid}.sock`);
}
