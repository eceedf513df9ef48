import { packageBuild } from "../../tsup.base.ts";

// An app: one ESM entry with the workspace packages bundled in, so `node dist/main.js` just runs.
export default packageBuild({
  entry: ["src/main.ts"],
  format: ["esm"],
  dts: false,
  noExternal: [/^@userstack\//],
});
