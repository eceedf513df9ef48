/**
 * What the drivers throw when a device cannot be opened: one sentence saying what is wrong and how
 * to fix it, and Node's error code (`EPERM`, `ENOENT`, `EBUSY`, `ENODEV`, `ENETDOWN`, …) in
 * `code`, so programs can branch on it the way they do on `fs` and `net` errors.
 *
 * ```ts
 * try { await openTap("tap0") } catch (e) { if (e.code === "EPERM") … }
 * ```
 */
export class DriverError extends Error {
  override readonly name = "DriverError";
  constructor(
    /** The errno name (`EPERM`), or `ENOTSUP` for an unsupported platform. */
    readonly code: string,
    message: string,
    /** The system call that failed, when one did (`open`, `ioctl(TUNSETIFF)`, `setns`, …). */
    readonly syscall?: string,
  ) {
    super(message);
  }
}

/** `ip -n <netns>` when a namespace is named, else `ip`: the command prefix a fix should quote. */
export function ipCommand(netns: string | undefined): string {
  return netns && !netns.startsWith("/") ? `ip -n ${netns}` : "ip";
}

/** ` in network namespace "x"` or nothing: where a device was looked for. */
export function where(netns: string | undefined): string {
  return netns ? ` in network namespace "${netns}"` : "";
}
