import { chmodSync, mkdtempSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * A command prefix that runs a program as the user nobody with no capability at all — what a
 * newcomer without root is — with `cwd` (a directory of this checkout) as its working directory.
 * Needs root to start.
 *
 * nobody must be able to read the checkout, and CI may have cloned it under a directory only root
 * can traverse (mktemp's 0700). A bind mount of the checkout itself would keep that mode (it is
 * the checkout's own inode), so the prefix enters a private mount namespace, mounts a tmpfs of mode
 * 0755 on a fresh directory, bind-mounts each entry of the checkout into it and runs from there.
 * The mounts vanish with the namespace; nothing is written outside it. `done()` removes the
 * (empty) directory.
 *
 * ```ts
 * const nobody = asNobody(packageDir);
 * const [cmd, ...args] = [...nobody.prefix, process.execPath, "--import", "tsx", "child.ts"];
 * await run(cmd, args).finally(() => nobody.done());
 * ```
 */
export function asNobody(cwd: string): { prefix: string[]; done(): void } {
  const mountPoint = mkdtempSync(join(tmpdir(), "us-nobody-"));
  chmodSync(mountPoint, 0o755);
  const prefix = [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    [
      'mount -t tmpfs -o mode=755,size=1m us-nobody "$2" && cd "$1" || exit 1',
      "for e in * .[!.]*; do",
      '  [ -e "$e" ] || continue',
      '  if [ -d "$e" ]; then mkdir "$2/$e"; else : > "$2/$e"; fi',
      '  mount --bind "$e" "$2/$e" || exit 1',
      "done",
      'cd "$2/$3" && shift 3 && exec "$@"',
    ].join("\n"),
    "sh",
    repo,
    mountPoint,
    relative(repo, cwd),
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all",
    "--bounding-set=-all",
  ];
  return { prefix, done: () => rmdirSync(mountPoint) };
}
