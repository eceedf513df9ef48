import type { Link, NetworkLayer, Receiver } from "@userstack/link";

/** Frames (or tunnel segments) and bytes that crossed an interface, like `ip -s link`. */
export interface TrafficCounters {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
}

export function newTrafficCounters(): TrafficCounters {
  return { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 };
}

/** Wraps a link so that every frame it sends and receives is counted in `counters`. */
export function withCounters(inner: Link, counters: TrafficCounters): Link {
  return {
    get medium() {
      return inner.medium;
    },
    get mtu() {
      return inner.mtu;
    },
    get mac() {
      return inner.mac;
    },
    send(frame) {
      counters.framesOut++;
      counters.bytesOut += frame.length;
      inner.send(frame);
    },
    sendMany(frames) {
      for (const f of frames) {
        counters.framesOut++;
        counters.bytesOut += f.length;
      }
      if (inner.sendMany) inner.sendMany(frames);
      else for (const f of frames) inner.send(f);
    },
    attach(receiver: Receiver) {
      inner.attach({
        receive(frame) {
          counters.framesIn++;
          counters.bytesIn += frame.length;
          receiver.receive(frame);
        },
        flush: () => receiver.flush(),
      });
    },
    close: () => inner.close(),
  };
}

/** The same for a network layer (the tunnel): segments and their bytes. */
export function withNetworkCounters(inner: NetworkLayer, counters: TrafficCounters): NetworkLayer {
  return {
    get localAddress() {
      return inner.localAddress;
    },
    pathMtu: (d) => inner.pathMtu(d),
    send(destination, protocol, segment) {
      counters.framesOut++;
      counters.bytesOut += segment.length;
      inner.send(destination, protocol, segment);
    },
    attach(receiver) {
      inner.attach({
        receive(source, destination, protocol, segment) {
          counters.framesIn++;
          counters.bytesIn += segment.length;
          receiver.receive(source, destination, protocol, segment);
        },
        flush: () => receiver.flush(),
      });
    },
    close: () => inner.close(),
  };
}
