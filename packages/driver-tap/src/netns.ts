// Opening a device inside a network namespace without moving the process there. A TAP device, a TUN
// device and an AF_PACKET socket belong to the namespace of the thread that creates them (tun's
// socket takes current->nsproxy->net_ns at open(2); AF_PACKET sockets at socket(2)), and keep it for
// their whole life. So the driver enters the namespace on the calling thread with setns(2), makes
// the device, and returns to the namespace it came from; the file descriptor stays bound to the
// namespace's device while the rest of the program stays where it was (see setns(2), "CLONE_NEWNET").
import { DriverError } from "./driver-error.js";
import { errno, errnoName, libc, O_CLOEXEC, O_RDONLY } from "./libc.js";

const CLONE_NEWNET = 0x40000000;

/** `/run/netns/<name>` for a name made by `ip netns add`; an absolute path is taken as it is. */
export function netnsPath(netns: string): string {
  if (netns.startsWith("/")) return netns;
  if (netns.length === 0 || netns.includes("/") || netns === "." || netns === "..") {
    throw new DriverError(
      "EINVAL",
      `"${netns}" is not a network namespace name: pass a name from \`ip netns list\` or an absolute path such as /proc/<pid>/ns/net.`,
    );
  }
  return `/run/netns/${netns}`;
}

/**
 * Runs `make` with the calling thread inside network namespace `netns` (a name from `ip netns
 * list` or a path to a namespace file), then returns the thread to its own namespace, whatever
 * `make` does. Without `netns`, just runs `make`. `make` must be synchronous: nothing else may run
 * on this thread while it is in the other namespace.
 */
export function inNetns<T>(netns: string | undefined, make: () => T): T {
  if (netns === undefined) return make();
  const c = libc();
  const path = netnsPath(netns);
  const target = c.open(path, O_RDONLY | O_CLOEXEC, 0);
  if (target < 0) {
    const code = errnoName(errno());
    throw new DriverError(
      code,
      code === "ENOENT"
        ? `Network namespace "${netns}" does not exist: create it with \`ip netns add ${netns}\` (or \`userstack-tap setup --netns ${netns}\`).`
        : `Cannot open network namespace "${netns}" (${path}, ${code}): run as root, or start the program inside it with \`ip netns exec ${netns} …\` and drop the netns option.`,
      "open",
    );
  }
  // Our own namespace, to come back to: the thread's, not the process leader's, in case this runs
  // on a worker thread.
  const home = c.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC, 0);
  if (home < 0) {
    const code = errnoName(errno());
    c.close(target);
    throw new DriverError(
      code,
      `Cannot read this thread's network namespace (/proc/thread-self/ns/net, ${code}): mount /proc, or run the program inside the namespace with \`ip netns exec\`.`,
      "open",
    );
  }
  try {
    if (c.setns(target, CLONE_NEWNET) < 0) {
      const code = errnoName(errno());
      throw new DriverError(
        code,
        code === "EPERM"
          ? `Entering network namespace "${netns}" needs CAP_SYS_ADMIN: run as root (sudo), or start the program inside it with \`sudo ip netns exec ${netns} …\` and drop the netns option.`
          : `Cannot enter network namespace "${netns}" (setns: ${code}): check that ${path} is a network namespace.`,
        "setns",
      );
    }
    let made: { value: T } | { error: unknown };
    try {
      made = { value: make() };
    } catch (error) {
      made = { error };
    }
    if (c.setns(home, CLONE_NEWNET) < 0) {
      // The thread would go on in the wrong namespace: every later socket would be made there.
      // Nothing sensible can continue; say so loudly rather than misroute traffic.
      throw new DriverError(
        errnoName(errno()),
        `Could not return from network namespace "${netns}" to the program's own (setns failed): the process must exit.`,
        "setns",
      );
    }
    if ("error" in made) throw made.error;
    return made.value;
  } finally {
    c.close(home);
    c.close(target);
  }
}
