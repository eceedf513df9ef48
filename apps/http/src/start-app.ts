import http from "node:http";
import { realClock } from "@userstack/link";
import {
  type DriverConfig,
  type HostForwarder,
  type NetworkSession,
  openNetwork,
  settle,
} from "@userstack/netkit";
import type { UserstackServer, UserstackSocket } from "@userstack/sockets";
import { ConnectionHistory } from "./connection-history.js";
import { httpHandler } from "./http-app.js";
import { SegmentRecorder } from "./segment-recorder.js";
import { forwardedPeer, StatusModel } from "./status-model.js";

/** Options of {@link startHttpApp}. */
export interface HttpAppOptions extends DriverConfig {
  /** The port the stack serves on (default 80). */
  port?: number;
  /** Memory driver: the 127.0.0.1 port forwarded to it (default 8080; 0: any free one). */
  forward?: number;
  /** The directory served under /files/. */
  staticDir?: string;
  /** The chart's sampling period, ms (default 500). */
  sampleMs?: number;
}

/** A running app, from {@link startHttpApp}. */
export interface HttpApp {
  session: NetworkSession;
  /** The memory driver's forwarder. */
  forwarder: HostForwarder | undefined;
  /** Where a browser reaches the app: `http://127.0.0.1:8080/` (memory), `http://10.0.0.2/` (tap…). */
  url: string;
  status: StatusModel;
  recorder: SegmentRecorder;
  /** Stops accepting, closes connections (FIN; idle keep-alive ones at once), closes the stack and flushes the capture. */
  close(): Promise<void>;
}

/**
 * Opens a stack on the configured driver and serves the app on it with an unmodified
 * `node:http` server fed with userstack connections; on the memory driver, also forwards a port
 * of 127.0.0.1 to it.
 */
export async function startHttpApp(options: HttpAppOptions): Promise<HttpApp> {
  const clock = realClock();
  const recorder = new SegmentRecorder(clock);
  const session = await openNetwork(options, {
    role: "server",
    clock,
    wrapLink: (l) => recorder.wrapLink(l),
    wrapNetwork: (n) => recorder.wrapNetwork(n),
  });
  const port = options.port ?? 80;
  let listener: UserstackServer | undefined;
  let history: ConnectionHistory | undefined;
  try {
    history = new ConnectionHistory(session.stack, {
      via: forwardedPeer(session),
      intervalMs: options.sampleMs,
    });
    const status = new StatusModel(session, history, recorder);
    const server = http.createServer(
      { keepAliveTimeout: 15_000 },
      httpHandler({ staticDir: options.staticDir, status }),
    );
    listener = session.stack.createServer({ noDelay: true }, (socket: UserstackSocket) =>
      server.emit("connection", socket),
    );
    await new Promise<void>((resolve, reject) => {
      listener!.once("error", reject);
      listener!.listen(port, () => resolve());
    });
    let forwarder: HostForwarder | undefined;
    let url: string;
    if (session.virtual !== undefined) {
      forwarder = await session.virtual.forward(options.forward ?? 8080, port);
      url = `http://127.0.0.1:${forwarder.port}/`;
    } else {
      url = `http://${session.stack.address}${port === 80 ? "" : `:${port}`}/`;
    }
    const h = history;
    const l = listener;
    return {
      session,
      forwarder,
      url,
      status,
      recorder,
      async close() {
        h.close();
        l.close();
        server.closeIdleConnections();
        // Busy connections get until their response ends; then a FIN each (closeAllConnections
        // destroys, and a destroyed userstack socket sends FIN, not RST).
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          setTimeout(() => {
            server.closeAllConnections();
          }, 500).unref();
        });
        await settle(session.stack);
        await session.close();
      },
    };
  } catch (e) {
    history?.close();
    listener?.close();
    await session.close();
    throw e;
  }
}
