import { parseCidr, parseIpv4 } from "@userstack/ipv4";
import { intOption } from "./program.js";
import { UsageError } from "./usage-error.js";

/** The drivers a program can run its stack on. */
export type DriverName = "memory" | "tap" | "tun" | "tunnel";
export const DRIVERS: readonly DriverName[] = ["memory", "tap", "tun", "tunnel"];

/** Everything needed to open a stack on a driver, from the command line or from code. */
export interface DriverConfig {
  driver: DriverName;
  /** tap/tun: the device name (default tap0 / tun0). */
  device?: string;
  /** tap/tun: the network namespace holding the device. */
  netns?: string;
  /** tap/tun: the stack's address and prefix (default 10.0.0.2/24). */
  address?: string;
  /** tap/tun: the default route. */
  gateway?: string;
  /** tap: the stack's MAC. */
  mac?: string;
  /** memory/tap/tun: the link MTU. */
  mtu?: number;
  /** tunnel: this host's address (default 127.0.0.1). */
  tunnelAddress?: string;
  /** tunnel: the port this host's tunnel listens on (default 23300; clients: 0, any free one). */
  tunnelPort?: number;
  /** tunnel: the other host's tunnel port (default 23300). */
  peerPort?: number;
  /** tunnel: chiTCP-compatible framing. */
  chitcp?: boolean;
  /** Capture every frame the stack sends and receives to this pcap file. */
  pcap?: string;
  /** The MSS the stack announces. */
  mss?: number;
}

/** The `util.parseArgs` options every program takes for its driver. */
export const driverArgs = {
  driver: { type: "string" },
  device: { type: "string" },
  netns: { type: "string" },
  address: { type: "string" },
  gateway: { type: "string" },
  mac: { type: "string" },
  mtu: { type: "string" },
  "tunnel-address": { type: "string" },
  "tunnel-port": { type: "string" },
  "peer-port": { type: "string" },
  chitcp: { type: "boolean" },
  pcap: { type: "string" },
  mss: { type: "string" },
} as const;

/** The help text of {@link driverArgs}, for a program's --help. */
export const DRIVER_HELP = `Network (default --driver memory):
  --driver memory        an in-process virtual network like QEMU's user-mode networking (slirp), no root:
                         the stack is 10.0.2.15/24; its gateway 10.0.2.2 stands for this machine's 127.0.0.1
  --driver tap           a Linux TAP device (Ethernet; root or a device you own, e.g. from \`userstack-tap setup\`)
  --driver tun           a Linux TUN device (bare IP, point to point)
  --driver tunnel        TCP segments inside real TCP between userstack hosts (chiTCP's network layer)
  --device <name>        tap/tun: the device (default tap0 / tun0)
  --netns <name>         tap/tun: open the device in this network namespace
  --address <ip/prefix>  tap/tun: the stack's address (default 10.0.0.2/24)
  --gateway <ip>         tap/tun: the default route
  --mac <mac>            tap: the stack's MAC (default: random, locally administered)
  --mtu <bytes>          memory/tap/tun: the link's MTU (68 to 65535)
  --tunnel-address <ip>  tunnel: this host's address, where its tunnel listens (default 127.0.0.1)
  --tunnel-port <port>   tunnel: this host's tunnel port (default 23300 for servers, any free one for clients)
  --peer-port <port>     tunnel: the other host's tunnel port (default 23300)
  --chitcp               tunnel: chiTCP-compatible framing (MSS 536), to talk to a chitcpd
Capture and TCP:
  --pcap <file>          write every frame the stack sends and receives to a pcap file (Wireshark, tshark)
  --mss <bytes>          the MSS the stack announces (88 to 65495; small values make many small segments)`;

/** Option values as {@link parseProgramArgs} returns them. */
type DriverValues = Record<string, string | boolean | undefined>;

const only: Record<string, readonly DriverName[]> = {
  device: ["tap", "tun"],
  netns: ["tap", "tun"],
  address: ["tap", "tun"],
  gateway: ["tap", "tun"],
  mac: ["tap"],
  mtu: ["memory", "tap", "tun"],
  "tunnel-address": ["tunnel"],
  "tunnel-port": ["tunnel"],
  "peer-port": ["tunnel"],
  chitcp: ["tunnel"],
};

/** Checks the driver options of a command line and returns them as a {@link DriverConfig}. */
export function driverConfigFrom(all: DriverValues): DriverConfig {
  const values = all as Record<string, string | undefined> & { chitcp?: boolean };
  const driver = (values.driver ?? "memory") as DriverName;
  if (!DRIVERS.includes(driver)) {
    throw new UsageError(`--driver must be one of ${DRIVERS.join(", ")}, not "${values.driver}".`);
  }
  for (const [option, drivers] of Object.entries(only)) {
    if (values[option] !== undefined && !drivers.includes(driver)) {
      throw new UsageError(
        `--${option} applies to --driver ${drivers.join("/")}, not to --driver ${driver}.`,
      );
    }
  }
  if (
    values.address !== undefined &&
    (!values.address.includes("/") || parseCidr(values.address) === undefined)
  ) {
    throw new UsageError(
      `--address must be an IPv4 address with its prefix, like 10.0.0.2/24, not "${values.address}".`,
    );
  }
  for (const o of ["gateway", "tunnel-address"] as const) {
    const v = values[o];
    if (v !== undefined && parseIpv4(v) === undefined)
      throw new UsageError(`--${o} must be an IPv4 address like 10.0.0.1, not "${v}".`);
  }
  if (values.mac !== undefined && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(values.mac)) {
    throw new UsageError(`--mac must look like 02:00:00:00:00:02, not "${values.mac}".`);
  }
  if (values.device !== undefined && !/^[A-Za-z0-9_.%-]{1,15}$/.test(values.device)) {
    throw new UsageError(
      `--device must be an interface name of 1 to 15 letters, digits, "-", "_" or ".", not "${values.device}".`,
    );
  }
  if (values.pcap === "") throw new UsageError("--pcap needs a file name, as in --pcap run.pcap.");
  return {
    driver,
    device: values.device,
    netns: values.netns,
    address: values.address,
    gateway: values.gateway,
    mac: values.mac,
    mtu: intOption(values.mtu, "--mtu", 68, 65535),
    tunnelAddress: values["tunnel-address"],
    tunnelPort: intOption(values["tunnel-port"], "--tunnel-port", 0, 65535),
    peerPort: intOption(values["peer-port"], "--peer-port", 1, 65535),
    chitcp: values.chitcp,
    pcap: values.pcap,
    mss: intOption(values.mss, "--mss", 88, 65495),
  };
}
