import { fillRandom } from "@userstack/wire";
import { ChunkPools } from "./chunk-pool.js";
import { resolveTcpConfig, type TcpConfig } from "./config.js";
import { TcpConnection } from "./connection.js";
import { TcpListener } from "./listener.js";
import { TupleHash } from "./tuple-hash.js";
import { openActive } from "./user-calls.js";

/**
 * The per-stack TCP state that connections share: defaults and the secrets behind ISNs
 * (RFC 6528), timestamp offsets and SYN cookies (RFC 4987). Create one per stack.
 *
 * ```ts
 * const tcp = new TcpEngine({ noDelay: true });
 * const conn = tcp.connect(now, myIp, 49152, serverIp, 80);
 * conn.dispatch(now, (seg) => sendSegment(seg)); // the SYN
 * ```
 */
export class TcpEngine {
  readonly config: TcpConfig;
  readonly hash: TupleHash;
  /** Ring storage shared by this engine's connections. */
  readonly pools: ChunkPools;

  /**
   * `secret`: 48 bytes keying the hashes; by default fresh random bytes (Web Crypto). Pass one
   * only to make tests deterministic.
   */
  constructor(config: Partial<TcpConfig> = {}, secret?: Uint8Array) {
    this.config = resolveTcpConfig(config);
    let key = secret;
    if (key === undefined) {
      key = new Uint8Array(48);
      fillRandom(key);
    }
    this.hash = new TupleHash(key);
    this.pools = new ChunkPools(this.config.bufferPoolSize, this.config.bufferLimit);
  }

  /** Bytes of ring storage the engine's connections hold now (data queued to send or to read). */
  get bufferBytes(): number {
    return this.pools.heldBytes;
  }

  /** Bytes of free ring storage kept for reuse (at most `bufferPoolSize`). */
  get pooledBytes(): number {
    return this.pools.pooledBytes;
  }

  /**
   * OPEN, active (RFC 9293 §3.10.1): a connection in SYN-SENT whose SYN the next dispatch sends.
   * The glue picks the local port and registers the connection under its 4-tuple.
   */
  connect(
    now: number,
    localAddress: number,
    localPort: number,
    remoteAddress: number,
    remotePort: number,
    config?: Partial<TcpConfig>,
  ): TcpConnection {
    const cfg = config === undefined ? this.config : resolveTcpConfig(config, this.config);
    const c = new TcpConnection(cfg, localAddress, localPort, remoteAddress, remotePort, this.pools);
    c.lastNow = now;
    openActive(
      c,
      this.hash.isn(now, localAddress, localPort, remoteAddress, remotePort),
      this.hash.tsOffset(localAddress, remoteAddress),
      now,
    );
    return c;
  }

  /** OPEN, passive: a listener on `localPort` (`localAddress` 0 for any address). */
  listen(localAddress: number, localPort: number, config?: Partial<TcpConfig>): TcpListener {
    const cfg = config === undefined ? this.config : resolveTcpConfig(config, this.config);
    return new TcpListener(this.hash, cfg, localAddress, localPort, this.pools);
  }
}
