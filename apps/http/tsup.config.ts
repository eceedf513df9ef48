import { packageBuild } from "../../tsup.base.ts";

// One program, an ESM file with the workspace packages bundled in from their sources (the
// tsconfig's paths), so `node dist/main.js` just runs; koffi (the TAP driver's FFI) stays an
// ordinary dependency, loaded only with --driver tap/tun.
export default packageBuild({
  entry: ["src/main.ts"],
  format: ["esm"],
  dts: false,
  noExternal: [/^@userstack\//],
  // Quiet on success: `npm start` builds this before printing the URL to open. Errors still print.
  silent: true,
});
