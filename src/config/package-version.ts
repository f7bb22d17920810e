/**
 * Fulcrum's version, read from its package.json: one folder above src/ when run from source,
 * two above dist/src/ when run from the build, so the search walks up instead of fixing a depth.
 */
import { existsSync, readFileSync } from "node:fs";

const PACKAGE_NAME = "fulcrum";
/** src/config/ or dist/src/config/ up to the package root, with room to spare. */
const MAX_LEVELS_UP = 5;

export function packageVersion(from: string | URL = import.meta.url): string {
  let folder = new URL("./", from);
  for (let level = 0; level < MAX_LEVELS_UP; level++) {
    folder = new URL("../", folder);
    const file = new URL("package.json", folder);
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
    if (manifest.name === PACKAGE_NAME && manifest.version) return manifest.version;
  }
  throw new Error(`no ${PACKAGE_NAME} package.json above ${String(from)}`);
}
