export { bytesEqual, fromHex, put16, put32, toHex, u16, u32 } from "./bytes.js";
export { DecodeError, type DecodeReason, isDecodeError } from "./decode-error.js";
export { fillRandom, randomU32 } from "./random.js";
