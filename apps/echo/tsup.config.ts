import { packageBuild } from "../../tsup.base.ts";

// Two programs, each one ESM file with the workspace packages bundled in from their sources (the
// tsconfig's paths), so `node dist/echo-server.js` just runs; koffi (the TAP driver's FFI) stays
// an ordinary dependency, loaded only with --driver tap/tun.
export default packageBuild({
  entry: { "echo-server": "src/server-main.ts", "echo-client": "src/client-main.ts" },
  format: ["esm"],
  dts: false,
  noExternal: [/^@userstack\//],
  // Quiet on success: `npm start` builds this before printing the URL to open. Errors still print.
  silent: true,
});
