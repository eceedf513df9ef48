import { packageBuild } from "../../tsup.base.ts";

// The library, and the userstack-tap command (package.json "bin": dist/cli.js).
export default packageBuild({ entry: ["src/index.ts", "src/cli.ts"] });
