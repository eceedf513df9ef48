import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MessageChannel, Worker } from "node:worker_threads";
import type { TcpConfig } from "@userstack/tcp";
import type { DriverSpec } from "./driver-spec.js";
import { PortTransport } from "./port-transport.js";
import { RemoteStack } from "./remote-stack.js";

/** Options of {@link startStackWorker}. */
export interface StackWorkerOptions {
  /** What the worker's stack runs on (default `{ kind: "memory" }`: a loopback at 10.0.0.1/24). */
  driver?: DriverSpec;
  /** TCP defaults of the worker's stack. */
  tcp?: Partial<TcpConfig>;
  /** Give up when the worker is not ready within this time (default 10 000 ms). */
  timeoutMs?: number;
}

/** A {@link RemoteStack} whose stack runs in a worker thread it owns. */
export type WorkerStack = RemoteStack & { readonly worker: Worker };

/** What the worker thread sends back once: ready, or why it could not start. */
type WorkerReply = { ready: true } | { error: string };

/**
 * The "kernel thread" model: starts a worker thread that hosts a stack (its TCP, its timers, its
 * driver), and returns that stack, used from this thread through the usual faces over a
 * MessagePort — the daemon's protocol, with each batch's buffer transferred instead of copied.
 * Socket calls stay on this thread; segments and timers run on the worker's. Closing the returned
 * stack ends the worker; {@link connectWorker} opens more clients of the same worker.
 *
 * ```ts
 * const stack = await startStackWorker();            // a loopback stack at 10.0.0.1
 * stack.createServer((s) => s.pipe(s)).listen(7);    // an echo server, served by the worker
 * stack.connect(7, "10.0.0.1", function () { this.end("hi"); }).on("data", (d) => console.log(`${d}`));
 * ```
 */
export async function startStackWorker(options: StackWorkerOptions = {}): Promise<WorkerStack> {
  const worker = spawnStackWorker({ driver: options.driver ?? { kind: "memory" }, tcp: options.tcp });
  const timeoutMs = options.timeoutMs ?? 10_000;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`userstack: the stack worker was not ready in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const done = (e?: Error) => {
        clearTimeout(timer);
        worker.off("message", onMessage);
        worker.off("error", done);
        worker.off("exit", onExit);
        if (e) reject(e);
        else resolve();
      };
      const onMessage = (m: WorkerReply) => done("error" in m ? new Error(m.error) : undefined);
      const onExit = (code: number) =>
        done(new Error(`userstack: the stack worker exited (code ${code}) before it was ready`));
      worker.on("message", onMessage);
      worker.once("error", done);
      worker.once("exit", onExit);
    });
  } catch (e) {
    await worker.terminate();
    throw e;
  }
  const stack = (await connectWorker(worker)) as WorkerStack;
  Object.defineProperty(stack, "worker", { value: worker });
  void stack.closed.then(() => worker.terminate());
  return stack;
}

/** Opens another client of a stack worker (one MessagePort each). */
export function connectWorker(worker: Worker, timeoutMs = 5000): Promise<RemoteStack> {
  const { port1, port2 } = new MessageChannel();
  worker.postMessage({ userstackSession: port2 }, [port2]);
  const transport = new PortTransport(port1);
  const onExit = () => transport.gone(new Error("the worker thread exited"));
  worker.once("exit", onExit);
  const stack = new RemoteStack(transport, "the stack worker");
  void stack.closed.then(() => worker.off("exit", onExit));
  return stack.handshake(timeoutMs);
}

/**
 * Starts the worker thread. From a build, `stack-worker.js` sits beside this module; from the
 * TypeScript sources (tests, `tsx`), the worker registers tsx's loader before loading the `.ts`.
 */
function spawnStackWorker(data: { driver: DriverSpec; tcp?: Partial<TcpConfig> }): Worker {
  const js = new URL("./stack-worker.js", import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData: data });
  const ts = new URL("./stack-worker.ts", import.meta.url);
  const tsx = join(
    dirname(createRequire(import.meta.url).resolve("tsx/package.json")),
    "dist/esm/api/index.mjs",
  );
  const boot = `const { register } = await import(${JSON.stringify(pathToFileURL(tsx).href)}); register(); await import(${JSON.stringify(ts.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData: data });
}
