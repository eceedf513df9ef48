export type { Clock, TimerHandle } from "./clock.js";
export { type Link, type Medium, type Receiver, sendAll } from "./link.js";
export type { NetworkLayer, NetworkReceiver } from "./network-layer.js";
