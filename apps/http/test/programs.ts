// The built programs of this app, run as child processes by the tests (see Program in testkit).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export { Program, runProgram as run } from "@userstack/testkit";

export const dist = (name: string) => fileURLToPath(new URL(`../dist/${name}.js`, import.meta.url));

/** Fails clearly when the programs were not built (turbo builds before testing; by hand: `pnpm build`). */
export function assertBuilt(...names: string[]): void {
  for (const n of names)
    if (!existsSync(dist(n)))
      throw new Error(`${dist(n)} is missing: run \`npx pnpm --filter @userstack/http build\` first.`);
}
