import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// A changeset whose frontmatter a formatter mangled (`---` turned into a heading) breaks
// `changeset version` at release time; catch it when it is written.
const root = fileURLToPath(new URL("../../../", import.meta.url));
const names = new Set(
  ["packages", "apps"].flatMap((dir) =>
    readdirSync(`${root}${dir}`).map((p) => {
      try {
        return JSON.parse(readFileSync(`${root}${dir}/${p}/package.json`, "utf8")).name as string;
      } catch {
        return "";
      }
    }),
  ),
);

describe("changesets", () => {
  const files = readdirSync(`${root}.changeset`).filter((f) => f.endsWith(".md") && f !== "README.md");
  it("exist", () => expect(files.length).toBeGreaterThan(0));
  for (const f of files) {
    it(`${f} has a frontmatter of known packages and bumps, then a summary`, () => {
      const text = readFileSync(`${root}.changeset/${f}`, "utf8");
      const m = /^---\n((?:"[^"]+": (?:patch|minor|major)\n)+)---\n\n\S/.exec(text);
      expect(
        m,
        `${f} must start with ---, lines like "@userstack/x": minor, ---, a blank line and the summary`,
      ).not.toBeNull();
      for (const line of m![1]!.trim().split("\n")) {
        const name = /^"([^"]+)"/.exec(line)![1]!;
        expect(names.has(name), `${f} names ${name}, which is no workspace package`).toBe(true);
      }
    });
  }
});
