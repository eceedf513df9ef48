#!/usr/bin/env node
// Creates a package skeleton that follows the repository's conventions.
//   node scripts/new-package.mjs <dir> [--node] [--private] [--deps wire,ethernet] [--desc "..."]
// <dir> is e.g. packages/arp or apps/echo. --node lets the package use Node's APIs (drivers, sockets,
// apps); without it the package builds with `types: []`, so Buffer, node:* and console fail to typecheck.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

const args = process.argv.slice(2);
const dir = args[0];
if (!dir || !/^(packages|apps)\/[a-z0-9-]+$/.test(dir)) {
  console.error(
    "usage: node scripts/new-package.mjs packages/<name> [--node] [--private] [--deps a,b] [--desc text]",
  );
  process.exit(2);
}
const flag = (f) => args.includes(f);
const opt = (f) => (args.includes(f) ? args[args.indexOf(f) + 1] : undefined);
const name = basename(dir);
const node = flag("--node");
const deps = (opt("--deps") ?? "").split(",").filter(Boolean);
if (existsSync(join(dir, "package.json"))) {
  console.error(`${dir}/package.json exists already`);
  process.exit(2);
}
mkdirSync(join(dir, "src"), { recursive: true });
const pkg = {
  name: `@userstack/${name}`,
  version: "0.1.0",
  description: opt("--desc") ?? "",
  license: "MIT",
  ...(flag("--private") ? { private: true } : {}),
  type: "module",
  sideEffects: false,
  main: "./dist/index.cjs",
  module: "./dist/index.js",
  types: "./dist/index.d.ts",
  exports: {
    ".": {
      import: { types: "./dist/index.d.ts", default: "./dist/index.js" },
      require: { types: "./dist/index.d.cts", default: "./dist/index.cjs" },
    },
    "./package.json": "./package.json",
  },
  files: ["dist", "README.md", "CHANGELOG.md"],
  scripts: {
    build: "tsup",
    typecheck: "tsc -p tsconfig.json && tsc -p tsconfig.test.json",
    test: "vitest run",
    lint: "biome check .",
  },
  dependencies: Object.fromEntries(deps.map((d) => [`@userstack/${d}`, "workspace:*"])),
  devDependencies: { "@userstack/testkit": "workspace:*" },
};
if (name === "testkit") delete pkg.devDependencies;
const write = (f, s) => writeFileSync(join(dir, f), s);
write("package.json", `${JSON.stringify(pkg, null, 2)}\n`);
const types = node ? `["node"]` : "[]";
write(
  "tsconfig.json",
  `{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": {
    "types": ${types},
    "baseUrl": ".",
    "paths": { "@userstack/*": ["../../packages/*/src/index.ts"] }
  },
  "include": ["src"],
  "exclude": ["src/**/*.test.ts", "src/**/*.bench.ts"]
}
`,
);
write(
  "tsconfig.test.json",
  `{
  "extends": "./tsconfig.json",
  "compilerOptions": { "types": ["node"] },
  "include": ["src", "test"],
  "exclude": []
}
`,
);
write(
  "tsconfig.build.json",
  `{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "types": ${types} },
  "include": ["src"],
  "exclude": ["src/**/*.test.ts", "src/**/*.bench.ts"]
}
`,
);
write(
  "tsup.config.ts",
  `import { packageBuild } from "../../tsup.base.ts";\n\nexport default packageBuild();\n`,
);
write("vitest.config.ts", `export { default } from "../../vitest.shared.ts";\n`);
if (!existsSync(join(dir, "src/index.ts"))) write("src/index.ts", "export {};\n");
console.log(`created ${dir}`);
