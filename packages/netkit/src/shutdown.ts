/** How long a clean shutdown may take before the process gives up waiting and exits with 1. */
const SHUTDOWN_LIMIT_MS = 5000;

/**
 * Runs `stop` once on the first SIGINT (Ctrl-C) or SIGTERM, then exits with the code it returns
 * (0 by default) — or with 1 if `stop` fails or takes longer than five seconds. A second signal
 * exits at once with 130, as a shell expects from an interrupted program. Returns a function that
 * removes the handlers.
 */
export function onShutdown(name: string, stop: (signal: NodeJS.Signals) => Promise<unknown>): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${name}: ${signal} again, exiting without waiting.\n`);
      process.exit(130);
    }
    stopping = true;
    const limit = setTimeout(() => {
      process.stderr.write(`${name}: shutdown took over ${SHUTDOWN_LIMIT_MS / 1000} s; exiting anyway.\n`);
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS);
    limit.unref();
    stop(signal).then(
      (code) => process.exit(typeof code === "number" ? code : 0),
      (e: unknown) => {
        process.stderr.write(`${name}: shutdown failed: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}
