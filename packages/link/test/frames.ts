// Helpers shared by the link tests: Ethernet frames built by hand (the link package sits below
// the ethernet codec, so it does not import it) and a receiver that logs what it sees.
import type { Receiver } from "../src/link.js";

/** `02:00:00:00:00:0n`, a locally administered unicast MAC. */
export function mac(n: number): Uint8Array {
  return Uint8Array.of(2, 0, 0, 0, 0, n);
}
export const BROADCAST = Uint8Array.of(255, 255, 255, 255, 255, 255);

/** A 60-byte Ethernet II frame from `src` to `dst` whose payload starts with `tag`. */
export function frame(dst: Uint8Array, src: Uint8Array, tag: number, length = 60): Uint8Array {
  const f = new Uint8Array(length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5; // IEEE 802 local experimental EtherType
  f[14] = tag >>> 8;
  f[15] = tag;
  return f;
}

/** The tag `frame` wrote. */
export function tagOf(f: Uint8Array): number {
  return (f[14]! << 8) | f[15]!;
}

/** A receiver recording `recv:<tag>` and `flush` in order, and copies of the frames. */
export class LogReceiver implements Receiver {
  readonly log: string[] = [];
  readonly frames: Uint8Array[] = [];
  constructor(
    private readonly now?: () => number,
    private readonly onFrame?: (f: Uint8Array) => void,
  ) {}
  receive(f: Uint8Array): void {
    this.log.push(`recv:${tagOf(f)}${this.now ? `@${this.now()}` : ""}`);
    this.frames.push(f.slice());
    this.onFrame?.(f);
  }
  flush(): void {
    this.log.push("flush");
  }
  /** Tags received, in order. */
  get tags(): number[] {
    return this.frames.map(tagOf);
  }
}
