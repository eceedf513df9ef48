import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));

/**
 * The one vitest configuration every package uses. `@userstack/x` resolves to the sibling's
 * `src/index.ts`, so tests run against sources without a build.
 */
export default defineConfig({
  resolve: {
    alias: [{ find: /^@userstack\/([a-z0-9-]+)$/, replacement: `${root}packages/$1/src/index.ts` }],
  },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    reporters: ["default"],
  },
});
