// Run by `bench:tap` inside a second namespace: the same node:http application the stack serves,
// here on the kernel's own TCP, for the comparison. Prints "listening" once it accepts.
import { createBodyApp } from "../body-app.js";
import { bodyDigest } from "../deterministic-body.js";

const [host, port, warm] = process.argv.slice(2) as [string, string, string | undefined];
// The digest of the bulk body is computed before the first request, as the stack side does.
if (warm) bodyDigest(1, Number(warm));
const server = createBodyApp().listen(Number(port), host, () => console.log("listening"));
// Bounded: the benchmark ends this process by PID; this is the backstop if it cannot.
setTimeout(() => server.close(() => process.exit(0)), 600_000).unref();
process.on("SIGTERM", () => process.exit(0));
