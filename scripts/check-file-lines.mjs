// House rule (docs/architecture.md): no file in src/ over 350 lines. Functions over 60 lines are
// Biome's noExcessiveLinesPerFunction (biome.json). Run by `npm run lint`.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const MAX_FILE_LINES = 350;
const root = new URL("../src/", import.meta.url).pathname;

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

const over = [];
for (const path of sources(root)) {
  const lines = readFileSync(path, "utf8").split("\n").length - 1;
  if (lines > MAX_FILE_LINES) over.push(`src/${path.slice(root.length)}: ${lines} lines`);
}
if (over.length > 0) {
  console.error(`files over ${MAX_FILE_LINES} lines (split them by concept):\n${over.join("\n")}`);
  process.exit(1);
}
