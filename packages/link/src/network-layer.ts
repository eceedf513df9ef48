/**
 * What a transport (TCP) needs from below: addresses, a path MTU, and datagram delivery. IPv4 over
 * a {@link Link} implements it inside the stack; the chiTCP-style tunnel implements it directly,
 * carrying segments without Ethernet or IP headers. That is how drivers stay interchangeable.
 * Addresses are IPv4 addresses as unsigned 32-bit numbers.
 */
export interface NetworkLayer {
  /** This host's address on the network (the source of what it sends). */
  readonly localAddress: number;
  /** The largest transport segment (header + data) that reaches `destination` unfragmented. */
  pathMtu(destination: number): number;
  /**
   * Sends one transport segment (protocol 6 = TCP) to `destination`. The bytes are lent for the
   * call. Failure to deliver is loss, for the transport to repair; nothing throws.
   */
  send(destination: number, protocol: number, segment: Uint8Array): void;
  /** Registers the transport's receiver. */
  attach(receiver: NetworkReceiver): void;
  /** Releases what the layer holds (connections, devices). */
  close(): Promise<void>;
}

/** The transport's side of a {@link NetworkLayer}. */
export interface NetworkReceiver {
  /** One incoming segment, lent for the call. */
  receive(source: number, destination: number, protocol: number, segment: Uint8Array): void;
  /** The end of a batch. */
  flush(): void;
}
