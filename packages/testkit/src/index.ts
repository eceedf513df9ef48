export { asNobody } from "./as-nobody.js";
export { type BenchResult, bench, machine, report } from "./bench.js";
export { CHROMIUM, withChromium } from "./chromium.js";
export { fixturePath, readFixture } from "./fixtures.js";
export { createNetns, Netns, withNetns } from "./netns.js";
export { pattern, sha } from "./payload.js";
export { Program, runProgram } from "./program.js";
export { hasTool, isRoot, missing, type Needs, underCi } from "./requirements.js";
export { httpRequest, sendRepeated, type WritableSocket } from "./traffic.js";
