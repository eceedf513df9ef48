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
 * can traverse (mktemp's 0700). So the prefix enters a private mount namespace, bind-mounts the
 * checkout on a fresh world-traversable directory and runs from there; the mount vanishes with the
 * namespace. `done()` removes the directory.
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
    'mount --bind "$1" "$2" && cd "$2/$3" && shift 3 && exec "$@"',
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
