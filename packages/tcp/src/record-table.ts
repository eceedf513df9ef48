/**
 * Storage for `capacity` records of segments in flight (see `SentSegments`): five 32-bit integers
 * per record — sequence range, flags, and the neighbours in transmit-time order — and the
 * transmit time as a double. Made once and cycled through the engine's `ChunkPools`, so that a
 * connection taking one when it starts sending and giving it back when all is acknowledged
 * allocates nothing.
 */
export class RecordTable {
  static readonly INTS = 5;
  readonly ints: Int32Array;
  readonly times: Float64Array;
  /** Bytes of storage. */
  readonly bytes: number = 0;

  constructor(readonly capacity: number) {
    this.ints = new Int32Array(capacity * RecordTable.INTS);
    this.times = new Float64Array(capacity);
    this.bytes = capacity * (RecordTable.INTS * 4 + 8);
  }
}
