import { chmodSync, mkdtempSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const packageDir = fileURLToPath(new URL("..", import.meta.url));

/**
 * A command prefix that runs a program as the user nobody with no capability at all — what a
 * newcomer without root is — from this package's directory.
 *
 * nobody must be able to read the checkout, and CI may have cloned it under a directory only root
 * can traverse (a 0700 temporary directory). So the prefix enters a private mount namespace,
 * bind-mounts the checkout on a fresh world-traversable directory and runs from there; the mount
 * vanishes with the namespace. `done()` removes the directory.
 */
export function asNobody(): { prefix: string[]; done(): void } {
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
    relative(repo, packageDir),
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all",
    "--bounding-set=-all",
  ];
  return { prefix, done: () => rmdirSync(mountPoint) };
}
