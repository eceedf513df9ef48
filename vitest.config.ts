import { defineConfig } from "vitest/config";

// `pnpm vitest` at the root runs every package's suite as one.
export default defineConfig({
  test: { projects: ["packages/*", "apps/*"] },
});
