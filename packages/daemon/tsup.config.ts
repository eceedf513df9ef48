import { packageBuild } from "../../tsup.base.ts";

// The library, the userstackd command (package.json "bin": dist/cli.js) and the worker-thread entry
// that startStackWorker() loads (dist/stack-worker.js). `shims` gives the CJS build import.meta.url.
export default packageBuild({ entry: ["src/index.ts", "src/cli.ts", "src/stack-worker.ts"], shims: true });
