#!/usr/bin/env node
// The userstack-tap command. A committed shim, so pnpm can link the bin at install time, before the build
// has made dist/.
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(entry)) {
  console.error("userstack-tap: not built yet; run `npx pnpm build` at the repository root first.");
  process.exit(1);
}
await import(entry.href);
