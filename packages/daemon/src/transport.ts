/** What a transport hands up: chunks of the byte stream, then its end. */
export interface TransportReceiver {
  /** Bytes in order; the transport does not touch them afterwards (views of them may be kept). */
  chunk(bytes: Uint8Array): void;
  /** The other side went away (`error` when the channel failed rather than closed). */
  end(error?: Error): void;
}

/**
 * A byte channel between a client library and a stack service: a UNIX stream socket
 * ({@link SocketTransport}) or a MessagePort ({@link PortTransport}). Both carry the same
 * length-prefixed messages, so the sessions on either end do not know which one they use.
 */
export interface Transport {
  /** True when {@link send} gives the batch's ArrayBuffer away (a MessagePort transfer). */
  readonly transfers: boolean;
  /** Allocates a buffer fit for {@link send} (a transferable one for a MessagePort). */
  allocate(n: number): Uint8Array;
  /** Sends a batch of whole messages. */
  send(batch: Uint8Array): void;
  /** Starts delivery to `rx`. */
  start(rx: TransportReceiver): void;
  /** Ends the channel after what was sent; the receiver hears `end()`. */
  close(): void;
}
