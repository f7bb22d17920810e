#!/usr/bin/env node
// Runs the compiled build in dist/ (`npm run build`; `npm ci` and `npm install` build through
// `prepare`). In a checkout, `npm run dev -- <args>` runs src/ through tsx with no build.
import { existsSync, readdirSync, statSync } from "node:fs";

const main = new URL("../dist/src/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write("fulcrum: no build in dist/: run `npm run build` (or `npm run dev -- <args>`)\n");
  process.exit(1);
}

/** Newest modification time under `folder`, 0 when it does not exist (an installed package). */
function newestChange(folder) {
  let newest = 0;
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (entry.isFile())
      newest = Math.max(newest, statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs);
  }
  return newest;
}

// A checkout whose sources changed after the last build would run old code without a word.
const sources = ["../src", "../gen"].map((folder) => new URL(folder, import.meta.url));
if (sources.every((folder) => existsSync(folder))) {
  const built = statSync(main).mtimeMs;
  if (sources.some((folder) => newestChange(folder) > built))
    process.stderr.write(
      "fulcrum: dist/ is older than src/ or gen/: run `npm run build` to run your changes\n",
    );
}

await import(main.href);
