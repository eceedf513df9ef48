// Connects to a daemon once and prints the outcome as one JSON line: used by the tests to try the
// client library as another user, in a process of its own.
//   node --import tsx test/connect-once.ts <socket path>
import { connectDaemon } from "../src/index.js";

const path = process.argv[2]!;
try {
  const stack = await connectDaemon(path);
  process.stdout.write(`${JSON.stringify({ ok: true, address: stack.address })}\n`);
  await stack.close();
} catch (e) {
  const err = e as Error & { code?: string };
  process.stdout.write(`${JSON.stringify({ ok: false, code: err.code, message: err.message })}\n`);
}
