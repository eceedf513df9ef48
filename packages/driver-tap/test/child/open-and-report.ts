// Run by errors.test.ts in a process with fewer rights (no root, or no /dev/net/tun): tries to
// open a device and prints what happened as JSON, so the parent can check the error a newcomer
// would see.
import { openPacket, openTap, openTun } from "../../src/index.js";

const [kind, name, netns] = process.argv.slice(2) as ["tap" | "tun" | "packet", string, string | undefined];
const options = netns ? { netns } : {};
try {
  const link =
    kind === "tap"
      ? await openTap(name, options)
      : kind === "tun"
        ? await openTun(name, options)
        : await openPacket(name, options);
  await link.close();
  console.log(JSON.stringify({ ok: true }));
} catch (e) {
  const {
    name: type,
    code,
    message,
    syscall,
  } = e as { name: string; code: string; message: string; syscall?: string };
  console.log(JSON.stringify({ type, code, message, syscall }));
}
