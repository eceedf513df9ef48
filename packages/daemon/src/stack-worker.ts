// The worker-thread side of startStackWorker(): hosts one stack and serves every MessagePort the
// main thread sends ({ userstackSession: port }) as a client session of the daemon protocol.
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import type { TcpConfig } from "@userstack/tcp";
import { type DriverSpec, openDriver } from "./driver-spec.js";
import { PortTransport } from "./port-transport.js";
import { StackService } from "./stack-service.js";

async function main(port: NonNullable<typeof parentPort>): Promise<void> {
  const { driver, tcp } = workerData as { driver: DriverSpec; tcp?: Partial<TcpConfig> };
  let service: StackService;
  try {
    service = new StackService({ ...(await openDriver(driver, (line) => console.warn(line))), tcp });
  } catch (e) {
    port.postMessage({ error: `userstack: the stack worker could not start: ${(e as Error).message}` });
    return;
  }
  port.on("message", (m: { userstackSession?: import("node:worker_threads").MessagePort }) => {
    if (m?.userstackSession) service.serve(new PortTransport(m.userstackSession), "port");
  });
  port.postMessage({ ready: true });
}

if (!isMainThread && parentPort) void main(parentPort);
