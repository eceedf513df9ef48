// Several frames in one system call, sendmmsg(2), for AF_PACKET sockets (a TAP descriptor is not a
// socket, and writev on it would merge the frames into one). The frames are copied into native
// memory laid out as the kernel wants it — an array of struct mmsghdr, each pointing at one struct
// iovec, each pointing at one frame slot — built once, so a batch costs one copy per frame and one
// call, not one call per frame.
import { allocNative, freeNative, type NativeMemory } from "./libc.js";

// struct mmsghdr (x86-64, arm64): struct msghdr (56 bytes) then unsigned int msg_len, padded to 64.
const MMSGHDR = 64;
const MSG_IOV = 16; // msghdr.msg_iov
const MSG_IOVLEN = 24; // msghdr.msg_iovlen
// struct iovec: void *iov_base; size_t iov_len.
const IOVEC = 16;
const IOV_LEN = 8;

/** Native staging for up to `capacity` frames of at most `slotSize` bytes. */
export class SendBatch {
  readonly capacity: number;
  private readonly memory: NativeMemory;
  private readonly slotSize: number;
  private readonly iovAt: number;
  private readonly slotsAt: number;
  private readonly lengths: Uint32Array;
  private count = 0;

  constructor(capacity: number, slotSize: number) {
    this.capacity = capacity;
    this.slotSize = (slotSize + 63) & ~63;
    this.iovAt = capacity * MMSGHDR;
    this.slotsAt = this.iovAt + capacity * IOVEC;
    this.memory = allocNative(this.slotsAt + capacity * this.slotSize);
    this.lengths = new Uint32Array(capacity);
    const v = this.memory.view;
    const base = this.memory.address;
    for (let i = 0; i < capacity; i++) {
      // msg_name, msg_control left NULL: the socket is bound to its interface.
      v.setBigUint64(i * MMSGHDR + MSG_IOV, BigInt(base + this.iovAt + i * IOVEC), true);
      v.setBigUint64(i * MMSGHDR + MSG_IOVLEN, 1n, true);
      v.setBigUint64(this.iovAt + i * IOVEC, BigInt(base + this.slotsAt + i * this.slotSize), true);
      v.setBigUint64(this.iovAt + i * IOVEC + IOV_LEN, 0n, true);
    }
  }

  /** Frames staged and not yet sent. */
  get length(): number {
    return this.count;
  }

  /** Copies `frame` (at most the slot size, checked by the caller) into the next slot. */
  add(frame: Uint8Array): void {
    const i = this.count++;
    this.memory.bytes.set(frame, this.slotsAt + i * this.slotSize);
    // iov_len is 64 bits; frames are far below 2^32, so the high half stays 0 from the constructor.
    this.memory.view.setUint32(this.iovAt + i * IOVEC + IOV_LEN, frame.length, true);
    this.lengths[i] = frame.length;
  }

  /** The length of staged frame `i`. */
  lengthOf(i: number): number {
    return this.lengths[i]!;
  }

  /** The native address of message `i`, for sendmmsg. */
  messageAddress(i: number): number {
    return this.memory.address + i * MMSGHDR;
  }

  /** Forgets the staged frames. */
  clear(): void {
    this.count = 0;
  }

  /** Releases the native memory; the batch is unusable afterwards. */
  free(): void {
    freeNative(this.memory.pointer);
  }
}
