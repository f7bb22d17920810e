// npm records optional platform packages in package-lock.json only when the registry serves
// them; the registry mirror used here lacks the non-Linux builds of @biomejs/cli-* and
// @bufbuild/buf-*, and `npm ci` then refuses the lockfile as out of sync. This adds lock
// entries for every optional dependency that is missing, with its os/cpu/libc constraints
// read from the package name, so `npm ci` accepts the file and skips them on this platform.
// Run after any `npm install` that rewrites package-lock.json: node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from "node:fs";

const file = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(file, "utf8"));
const platform = (name) => {
  const m = /-(android|darwin|linux|win32)-(arm64|x64|armv7|arm)(-musl)?$/.exec(name);
  if (!m) return undefined;
  const cpu = m[2] === "armv7" ? "arm" : m[2];
  return { os: [m[1]], cpu: [cpu], ...(m[3] ? { libc: ["musl"] } : {}) };
};
let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `${path ? `${path}/` : ""}node_modules/${name}`.replace(
      /^node_modules\/(.*\/)?node_modules/,
      "node_modules/$1node_modules",
    );
    const hoisted = `node_modules/${name}`;
    if (lock.packages[key] || lock.packages[hoisted]) continue;
    const constraints = platform(name);
    if (!constraints) continue;
    lock.packages[hoisted] = { version, ...(entry.dev ? { dev: true } : {}), optional: true, ...constraints };
    added++;
  }
}
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} optional platform entries`);
