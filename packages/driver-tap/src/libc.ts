// The few libc calls the drivers make, bound through koffi (an FFI that ships prebuilt binaries,
// so installing needs no compiler). libc is bound on first use, not at import: importing the package
// opens nothing (koffi's own binary loads, on every platform koffi supports), and opening a device on
// a system other than Linux fails with one sentence.
import koffi from "koffi";
import { DriverError } from "./driver-error.js";

/** A callback-style asynchronous koffi call: runs on a libuv worker thread. */
type AsyncCall = (...args: unknown[]) => void;
/** A synchronous koffi function with its `.async` form. */
type Fn = ((...args: unknown[]) => number) & { async: AsyncCall };

/** The bound functions. Numbers in, numbers out; `-1` and {@link errno} on failure, as in C. */
export interface Libc {
  open(path: string, flags: number, mode: number): number;
  close(fd: number): number;
  /** close(2) on a worker thread: closing a TAP/TUN descriptor unregisters the device, ~14 ms here. */
  closeAsync(fd: number, done: (err: unknown, result: number) => void): void;
  /** `ioctl(fd, request, void *arg)`: `arg` is a buffer the kernel reads or fills. */
  ioctlPtr(fd: number, request: number, arg: Uint8Array): number;
  /** `ioctl(fd, request, unsigned long arg)`: `arg` is a plain value. */
  ioctlInt(fd: number, request: number, arg: number): number;
  read(fd: number, buf: Uint8Array, count: number): number;
  write(fd: number, buf: Uint8Array, count: number): number;
  recv(fd: number, buf: Uint8Array, count: number, flags: number): number;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, length: number): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array, length: number): number;
  /**
   * `sendmmsg(fd, msgvec, vlen, flags)` with `msgvec` as a native address (x86-64 and arm64 pass a
   * pointer and a 64-bit integer alike), so a batch can start part-way into an array.
   */
  sendmmsg(fd: number, msgvecAddress: number, count: number, flags: number): number;
  setns(fd: number, nstype: number): number;
  eventfd(initial: number, flags: number): number;
  /** `poll(fds, nfds, timeout)` on a worker thread; `fds` must be memory from {@link allocNative}. */
  pollAsync(
    fds: unknown,
    count: number,
    timeoutMs: number,
    done: (err: unknown, ready: number) => void,
  ): void;
}

// fcntl.h / socket.h / eventfd.h flags (x86-64 and arm64 share these values).
export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const SOCK_NONBLOCK = O_NONBLOCK;
export const SOCK_CLOEXEC = O_CLOEXEC;
export const EFD_NONBLOCK = O_NONBLOCK;
export const EFD_CLOEXEC = O_CLOEXEC;
export const POLLIN = 0x1;

// errno values the I/O paths test without a lookup (asm-generic/errno-base.h).
export const EINTR = 4;
export const EIO = 5;
export const EAGAIN = 11;

let bound: Libc | undefined;

/** The libc bindings, loaded on the first call. Throws a {@link DriverError} (`ENOTSUP`) off Linux. */
export function libc(): Libc {
  if (bound) return bound;
  if (process.platform !== "linux") {
    throw new DriverError(
      "ENOTSUP",
      `@userstack/driver-tap needs Linux (TAP, TUN and AF_PACKET are Linux interfaces); on ${process.platform} use an in-memory link or the tunnel driver instead.`,
    );
  }
  const lib = koffi.load("libc.so.6");
  const f = (proto: string) => lib.func(proto) as unknown as Fn;
  const ioctl = f("int ioctl(int fd, unsigned long request, ...)");
  const poll = f("int poll(void *fds, unsigned long nfds, int timeout)");
  const close = f("int close(int fd)");
  bound = {
    open: f("int open(const char *path, int flags, int mode)"),
    close,
    closeAsync: (fd, done) => close.async(fd, done),
    ioctlPtr: (fd, request, arg) => ioctl(fd, request, "void *", arg),
    ioctlInt: (fd, request, arg) => ioctl(fd, request, "unsigned long", arg),
    read: f("long read(int fd, void *buf, unsigned long count)"),
    write: f("long write(int fd, void *buf, unsigned long count)"),
    recv: f("long recv(int fd, void *buf, unsigned long count, int flags)"),
    socket: f("int socket(int domain, int type, int protocol)"),
    bind: f("int bind(int fd, void *addr, unsigned int length)"),
    setsockopt: f("int setsockopt(int fd, int level, int name, void *value, unsigned int length)"),
    sendmmsg: f("int sendmmsg(int fd, uint64_t msgvec, unsigned int vlen, int flags)"),
    setns: f("int setns(int fd, int nstype)"),
    eventfd: f("int eventfd(unsigned int initval, int flags)"),
    pollAsync: (fds, count, timeoutMs, done) => poll.async(fds, count, timeoutMs, done),
  };
  return bound;
}

/** The errno of the last failed call on this thread. */
export function errno(): number {
  return koffi.errno();
}

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(koffi.os.errno).map(([name, n]) => [n, name] as [number, string]),
);

/** `EPERM` for 1, and so on; `E<n>` for a number libc names differently. */
export function errnoName(n: number): string {
  return ERRNO_NAMES.get(n) ?? `E${n}`;
}

/** Native memory and its address, from {@link allocNative}. */
export interface NativeMemory {
  pointer: unknown;
  /** The address, as a number (user-space addresses fit in 2^53 on x86-64 and arm64). */
  address: number;
  view: DataView;
  bytes: Uint8Array;
}

/**
 * Memory that does not move, for a call running on another thread (`poll`) or for structures that
 * point into each other (`sendmmsg`). Free with {@link freeNative}.
 */
export function allocNative(size: number): NativeMemory {
  const pointer = koffi.alloc("uint8_t", size);
  const buffer = koffi.view(pointer, size);
  return {
    pointer,
    address: Number(koffi.address(pointer)),
    view: new DataView(buffer),
    bytes: new Uint8Array(buffer),
  };
}

/** Releases memory from {@link allocNative}. */
export function freeNative(pointer: unknown): void {
  koffi.free(pointer);
}
