import { defineConfig, type Options } from "tsup";

/** The build every package shares: ESM + CJS + .d.ts from `src/index.ts` (plus extra entries). */
export function packageBuild(extra: Partial<Options> = {}) {
  return defineConfig({
    entry: ["src/index.ts"],
    format: ["esm", "cjs"],
    dts: true,
    clean: true,
    sourcemap: true,
    target: "es2022",
    tsconfig: "tsconfig.build.json",
    ...extra,
  });
}
