import { internetChecksum } from "@userstack/ipv4";
import type { Clock, NetworkLayer, NetworkReceiver } from "@userstack/link";
import { type ByteSink, LinkType, PcapWriter } from "@userstack/pcap";
import { put16, put32 } from "@userstack/wire";

const IPV4_HEADER = 20;
const MAX_DATAGRAM = 65535;

/**
 * Writes transport segments to a pcap as IPv4 datagrams (LINKTYPE_RAW, 101), synthesising the IP
 * header the tunnel does not carry, so Wireshark decodes and checks the TCP inside: version 4, no
 * options, DF set (the tunnel never fragments), TTL 64, an identification counter, and a correct
 * header checksum (RFC 791 §3.1). Segments too long for a datagram are cut to fit (the record keeps
 * their real length).
 */
export class NetworkCapture {
  private readonly scratch = new Uint8Array(MAX_DATAGRAM);
  private id = 0;

  constructor(
    readonly writer: PcapWriter,
    private readonly clock: Clock,
  ) {}

  /** Records one segment going from `source` to `destination`. */
  record(source: number, destination: number, protocol: number, segment: Uint8Array): void {
    const b = this.scratch;
    const n = Math.min(segment.length, MAX_DATAGRAM - IPV4_HEADER);
    b[0] = 0x45; // version 4, IHL 5
    b[1] = 0;
    put16(b, 2, IPV4_HEADER + n);
    put16(b, 4, this.id);
    this.id = (this.id + 1) & 0xffff;
    put16(b, 6, 0x4000); // DF, offset 0
    b[8] = 64;
    b[9] = protocol;
    put16(b, 10, 0);
    put32(b, 12, source);
    put32(b, 16, destination);
    put16(b, 10, internetChecksum(b, 0, IPV4_HEADER));
    b.set(segment.subarray(0, n), IPV4_HEADER);
    this.writer.write(b.subarray(0, IPV4_HEADER + n), (this.clock.timeOrigin ?? 0) + this.clock.now());
  }
}

/** A pcap writer for raw IPv4 over `out`, or `out` itself when it is already a writer. */
export function rawIpWriter(out: PcapWriter | ByteSink): { writer: PcapWriter; owned: boolean } {
  if (out instanceof PcapWriter) return { writer: out, owned: false };
  return { writer: new PcapWriter(out, { linkType: LinkType.Raw }), owned: true };
}

/** A network layer whose traffic is being captured. */
export interface CapturedNetworkLayer extends NetworkLayer {
  readonly writer: PcapWriter;
}

class CaptureLayer implements CapturedNetworkLayer {
  private readonly capture: NetworkCapture;
  private receiver: NetworkReceiver | undefined;

  constructor(
    private readonly inner: NetworkLayer,
    readonly writer: PcapWriter,
    private readonly owned: boolean,
    clock: Clock,
  ) {
    this.capture = new NetworkCapture(writer, clock);
  }

  get localAddress(): number {
    return this.inner.localAddress;
  }
  pathMtu(destination: number): number {
    return this.inner.pathMtu(destination);
  }
  send(destination: number, protocol: number, segment: Uint8Array): void {
    this.capture.record(this.inner.localAddress, destination, protocol, segment);
    this.inner.send(destination, protocol, segment);
  }
  attach(receiver: NetworkReceiver): void {
    this.receiver = receiver;
    this.inner.attach({
      receive: (source, destination, protocol, segment) => {
        this.capture.record(source, destination, protocol, segment);
        this.receiver?.receive(source, destination, protocol, segment);
      },
      flush: () => this.receiver?.flush(),
    });
  }
  async close(): Promise<void> {
    await this.inner.close();
    if (this.owned) await this.writer.close();
    else this.writer.flush();
  }
}

/**
 * Wraps any {@link NetworkLayer} so that every segment it sends and receives goes to a pcap as an
 * IPv4 datagram (see {@link NetworkCapture}). The tunnel's own `capture` option records at the
 * socket instead (what actually crossed the wire); this wrapper records what the stack handed down.
 */
export function withNetworkCapture(
  inner: NetworkLayer,
  out: PcapWriter | ByteSink,
  clock: Clock,
): CapturedNetworkLayer {
  const { writer, owned } = rawIpWriter(out);
  return new CaptureLayer(inner, writer, owned, clock);
}
