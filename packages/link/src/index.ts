export { type CapturedLink, type CaptureOptions, linkTypeOf, withCapture } from "./capture.js";
export type { Clock, TimerHandle } from "./clock.js";
export { DeadlineHeap, type HeapEntry } from "./deadline-heap.js";
export type {
  FaultConfig,
  FaultDirection,
  FaultDropReason,
  FaultEvent,
  FaultStats,
} from "./fault-lane.js";
export { type FaultOptions, type FaultyLink, withFaults } from "./faults.js";
export { type Link, type Medium, type Receiver, sendAll } from "./link.js";
export { MemoryLink, type MemoryLinkStats, maxFrameLength } from "./memory-link.js";
export { type MemoryPairOptions, memoryPair } from "./memory-pair.js";
export {
  type MacTableEntry,
  MemorySwitch,
  type MemorySwitchOptions,
  type MemorySwitchStats,
} from "./memory-switch.js";
export type { NetworkLayer, NetworkReceiver } from "./network-layer.js";
export { Prng } from "./prng.js";
export { realClock } from "./real-clock.js";
export { type RunUntilIdleOptions, VirtualClock, type VirtualClockOptions } from "./virtual-clock.js";
