#!/usr/bin/env node
// Compiles packages/ipv4/src/checksum.wat to the base64 bytes in packages/ipv4/src/checksum-wasm.ts.
// Run after editing the .wat: node scripts/build-checksum-wasm.mjs (needs the root devDependency wabt).
import { readFileSync, writeFileSync } from "node:fs";
import wabtInit from "wabt";

const dir = new URL("../packages/ipv4/src/", import.meta.url);
export async function compileChecksumWat() {
  const wabt = await wabtInit();
  const source = readFileSync(new URL("checksum.wat", dir), "utf8");
  const module = wabt.parseWat("checksum.wat", source, { simd: true });
  return Buffer.from(module.toBinary({}).buffer).toString("base64");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const b64 = await compileChecksumWat();
  const file = new URL("checksum-wasm.ts", dir);
  const text = readFileSync(file, "utf8").replace(
    /const WASM_BASE64 =\n? *"[^"]*";/,
    `const WASM_BASE64 =\n  "${b64}";`,
  );
  writeFileSync(file, text);
  console.log(`checksum-wasm.ts: ${Buffer.from(b64, "base64").length} bytes of WebAssembly`);
}
