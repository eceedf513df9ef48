// The bulk of the internet checksum in WebAssembly SIMD (source: checksum.wat, compiled by
// scripts/build-checksum-wasm.mjs). About 3× the JavaScript loop on a 1460-byte payload and more
// on larger ones; it is used for buffers long enough to pay for copying them into the module's
// memory. Where WebAssembly or its SIMD is unavailable the JavaScript path serves alone.

// WebAssembly is a global in browsers, workers, Node, Deno and Bun; typed here because protocol
// packages build without the DOM and Node type libraries.
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};
declare function atob(data: string): string;

const WASM_BASE64 =
  "AGFzbQEAAAABDAJgAn9/AX9gAX4BfgMDAgABBQMBAAIHEgIGbWVtb3J5AgAFc3VtMzIAAAq6AQJ7AgF/A3sgACABaiECAkADQCAAIAJPDQEgAyAA/QAEAP1//a4BIQMgBCAA/QAEEP1//a4BIQQgAEEgaiEADAALCyAD/ckBIAP9ygH9zgEhBSAFIAT9yQEgBP3KAf3OAf3OASEFIAX9HQAgBf0dAXz9EiEFIAX9HQAQAacLPAAgAEL//wODIABCEIh8IQAgAEL//wODIABCEIh8IQAgAEL//wODIABCEIh8IQAgAEL//wODIABCEIh8Cw==";

/** Bytes summed per call: the scratch area of the module's 128 KiB memory. */
export const WASM_CHUNK = 65536;

/** The compiled bytes, for the test that compares them with checksum.wat. */
export function checksumWasmBytes(): Uint8Array {
  const bin = atob(WASM_BASE64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** The SIMD summer: copies `b[start..end)` (a multiple of 32 bytes, at most {@link WASM_CHUNK}) in and sums it. */
export interface WasmSummer {
  /** Little-endian-word sum of the bytes, folded to at most 17 bits. */
  sum(b: Uint8Array, start: number, end: number): number;
}

function instantiate(): WasmSummer | undefined {
  try {
    if (typeof WebAssembly !== "object") return undefined;
    const bytes = checksumWasmBytes();
    if (!WebAssembly.validate(bytes)) return undefined; // no SIMD in this engine
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    const memory = exports.memory as { buffer: ArrayBuffer };
    const sum32 = exports.sum32 as (ptr: number, len: number) => number;
    const scratch = new Uint8Array(memory.buffer, 0, WASM_CHUNK);
    return {
      sum(b, start, end) {
        // TypedArray#set copies a whole array: a range would need a subarray, a view allocated per
        // call that costs as much as summing 200 bytes. A range that is most of its buffer (a
        // segment in its frame) is copied with the buffer instead and summed where it lands.
        if (b.length <= WASM_CHUNK && b.length - (end - start) <= end - start) {
          scratch.set(b);
          return sum32(start, end - start);
        }
        scratch.set(b.subarray(start, end));
        return sum32(0, end - start);
      },
    };
  } catch {
    return undefined;
  }
}

/** The shared instance, or undefined where WebAssembly SIMD is not available. */
export const wasmSummer: WasmSummer | undefined = instantiate();
