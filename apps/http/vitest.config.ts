import { fileURLToPath } from "node:url";
import { mergeConfig } from "vitest/config";
import shared from "../../vitest.shared.ts";

// The shared aliases map `@userstack/x` to its sources; add the pcap package's Node entry point.
export default mergeConfig(shared, {
  resolve: {
    alias: [
      {
        find: /^@userstack\/pcap\/node$/,
        replacement: fileURLToPath(new URL("../../packages/pcap/src/node.ts", import.meta.url)),
      },
    ],
  },
});
