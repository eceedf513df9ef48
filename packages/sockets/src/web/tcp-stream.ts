import type { BsdSocket, SocketAddress } from "../bsd/bsd-socket.js";

/** Addresses of an open {@link TcpStream}. */
export interface TcpStreamInfo {
  local: SocketAddress;
  remote: SocketAddress;
}

/**
 * A TCP connection as WHATWG streams, in the shape of the Direct Sockets / `connect()` APIs:
 * `readable` yields received bytes (it pulls only when read, so an unread stream closes the TCP
 * window), `writable` accepts bytes (each write resolves once the bytes are in the send buffer,
 * so a full buffer holds the writer back). Closing `writable` sends FIN; cancelling `readable`
 * stops reading; {@link close} closes both.
 */
export interface TcpStream {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  /** Resolves with the addresses once connected; rejects when the connection fails to open. */
  readonly opened: Promise<TcpStreamInfo>;
  /** Resolves when both directions are closed; rejects on a reset or timeout. */
  readonly closed: Promise<void>;
  /** Closes the connection (FIN after queued data). */
  close(): Promise<void>;
}

/** Wraps a BSD socket (connecting or connected) as a {@link TcpStream}. */
export function streamOf(socket: BsdSocket, connected: Promise<void>, readChunk = 65536): TcpStream {
  let readDone = false;
  let writeDone = false;
  let settle: { resolve(): void; reject(e: unknown): void } | undefined;
  const closed = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  closed.catch(() => undefined);
  const finish = () => {
    if (readDone && writeDone) {
      void socket.close().then(() => settle?.resolve());
    }
  };
  const fail = (e: unknown) => {
    settle?.reject(e);
    void socket.close();
  };
  const readable = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        await connected;
        try {
          const bytes = await socket.recv(readChunk);
          if (bytes.length === 0) {
            controller.close();
            readDone = true;
            finish();
          } else {
            controller.enqueue(bytes);
          }
        } catch (e) {
          controller.error(e);
          fail(e);
        }
      },
      async cancel() {
        await socket.shutdown("read").catch(() => undefined);
        readDone = true;
        finish();
      },
    },
    { highWaterMark: 0 },
  );
  const writable = new WritableStream<Uint8Array>(
    {
      async write(chunk) {
        await connected;
        try {
          await socket.send(chunk);
        } catch (e) {
          fail(e);
          throw e;
        }
      },
      async close() {
        await connected;
        await socket.shutdown("write");
        writeDone = true;
        finish();
      },
      async abort() {
        writeDone = true;
        readDone = true;
        await socket.close();
        settle?.resolve();
      },
    },
    { highWaterMark: 1 },
  );
  const opened = connected.then(() => ({ local: socket.localAddress(), remote: socket.remoteAddress() }));
  opened.catch((e) => fail(e));
  return {
    readable,
    writable,
    opened,
    closed,
    async close() {
      readDone = true;
      writeDone = true;
      await socket.close();
      settle?.resolve();
    },
  };
}
