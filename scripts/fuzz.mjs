// npm run test:fuzz [-- --runs N] [-- --seed S]: the fuzz suite (test/fuzz/) with N cases per
// property (default: the short CI run). Sets FUZZ_RUNS / FUZZ_SEED for the tests; fast-check
// prints the seed and the shrunk counterexample of any failure, to replay with --seed.
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { runs: { type: "string" }, seed: { type: "string" } },
  allowPositionals: false,
});
const env = { ...process.env };
if (values.runs) env.FUZZ_RUNS = values.runs;
if (values.seed) env.FUZZ_SEED = values.seed;
const result = spawnSync("npx", ["vitest", "run", "test/fuzz"], { stdio: "inherit", env });
process.exit(result.status ?? 1);
