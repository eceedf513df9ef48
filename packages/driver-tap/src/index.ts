export { DeviceLink, type LinkStats } from "./device-link.js";
export { DriverError } from "./driver-error.js";
export { DEFAULT_BATCH, type GsoOption, type OpenOptions } from "./open-options.js";
export { openPacket, PacketLink, type PacketOptions } from "./open-packet.js";
export { openTap, TapLink, type TapOptions } from "./open-tap.js";
export { openTun, type TunOptions } from "./open-tun.js";
