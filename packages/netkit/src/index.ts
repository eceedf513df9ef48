export {
  DRIVER_HELP,
  DRIVERS,
  type DriverConfig,
  type DriverName,
  driverArgs,
  driverConfigFrom,
} from "./driver-options.js";
export { HostAlias, type ProxiedFlow } from "./host-alias.js";
export { type ForwardedFlow, HostForwarder } from "./host-forwarder.js";
export { type InterfaceInfo, NetworkSession, type OpenNetworkOptions, openNetwork } from "./open-network.js";
export { EXIT_USAGE, intOption, type ProgramArgs, parseProgramArgs, runProgram } from "./program.js";
export { settle } from "./settle.js";
export { onShutdown } from "./shutdown.js";
export { type SpliceCounts, splice } from "./splice.js";
export {
  newTrafficCounters,
  type TrafficCounters,
  withCounters,
  withNetworkCounters,
} from "./traffic-counters.js";
export { UsageError } from "./usage-error.js";
export { VirtualNetwork, type VirtualNetworkOptions } from "./virtual-network.js";
