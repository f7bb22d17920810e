#!/usr/bin/env node
// `npm run reliability:report`: writes the state section of RELIABILITY.md (between the
// "state:begin" and "state:end" markers, leaving every other section as it is) from what the
// suites left in bench/results/: faults.json (npm run test:faults) and soak-<N>m.json
// (npm run soak -- --minutes N). Each figure is printed with the command that produced it,
// the machine, the Node version and the date.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";

const RESULTS = "bench/results";
const FILE = "RELIABILITY.md";
const BEGIN = "<!-- state:begin -->";
const END = "<!-- state:end -->";
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "unknown CPU"}), shared with other jobs`;
const read = (name) => JSON.parse(readFileSync(`${RESULTS}/${name}`, "utf8"));
const mib = (x) => `${x.toFixed(0)} MiB`;

function faultsSection() {
  if (!existsSync(`${RESULTS}/faults.json`)) return "No fault run found: run `npm run test:faults`.\n";
  const f = read("faults.json");
  const lines = [
    `Command: \`${f.command}\`; ${machine}; Node ${f.node}; ${f.date}.`,
    "Three replicas on one redis-server (through a loopback TCP proxy), bounded mixed load.",
    "",
    "| fault | calls ok | failed (method status: count) | acknowledged registrations / pins | lost registrations / divergent replicas / lost pins | quota peak per window (limit, bound) |",
    "|---|---|---|---|---|---|",
  ];
  for (const r of f.results) {
    const ok = Object.values(r.ok).reduce((a, b) => a + b, 0);
    const failed =
      Object.entries(r.failed)
        .map(([k, v]) => `${k}: ${v}`)
        .join(", ") || "none";
    lines.push(
      `| ${r.fault} | ${ok} | ${failed} | ${r.acknowledgedRegistrations} / ${r.acknowledgedPins} | ${r.lostRegistrations} / ${r.divergentReplicas} / ${r.lostPins} | ${r.quotaPeakPerWindow} (${r.quotaLimit}, ${r.quotaBound}) |`,
    );
  }
  lines.push("", "Failure modes (first message of each):", "");
  const seen = new Set();
  for (const r of f.results)
    for (const [k, m] of Object.entries(r.failureMessages)) {
      if (seen.has(k)) continue;
      seen.add(k);
      lines.push(`- ${k}: ${m.replace(/\|/g, "/")}`);
    }
  return `${lines.join("\n")}\n`;
}

function soakSection() {
  const files = existsSync(RESULTS)
    ? readdirSync(RESULTS).filter((n) => /^soak-\d+(\.\d+)?m\.json$/.test(n))
    : [];
  if (files.length === 0) return "No soak run found: run `npm run soak -- --minutes 30`.\n";
  const lines = [];
  for (const name of files.sort()) {
    const s = read(name);
    lines.push(
      `Command: \`${s.command}\`; ${machine}; Node ${s.node}; ${s.date}. ${s.calls.total} calls ok, failed: ${JSON.stringify(s.calls.failed)}; Watch messages ${s.watch.messages}, resets ${s.watch.resets}.`,
      `Bound: RSS and heap at the end at most ${s.bound.memoryRatio} x their level after warm-up (mean of the last fifth of samples over the second fifth), open handles at most ${s.bound.handlesRatio} x, event-loop p99 at most ${s.bound.eventLoopP99Ms} ms. Held: ${s.held ? "yes" : `no (${s.over.join("; ")})`}.`,
      "",
      "| replica | RSS warm -> end (ratio) | heap warm -> end (ratio) | handles warm -> end | max event-loop p99 |",
      "|---|---|---|---|---|",
      ...s.growth.map(
        (g, i) =>
          `| ${i} | ${mib(g.rssWarmMiB)} -> ${mib(g.rssEndMiB)} (${g.rssRatio.toFixed(2)}) | ${mib(g.heapWarmMiB)} -> ${mib(g.heapEndMiB)} (${g.heapRatio.toFixed(2)}) | ${g.handlesWarm} -> ${g.handlesEnd} | ${g.maxEventLoopP99Ms.toFixed(0)} ms |`,
      ),
      "",
    );
  }
  return `${lines.join("\n")}\n`;
}

const section = `${BEGIN}
## Faults survived (state)

${faultsSection()}
## Soak

${soakSection()}${END}`;
const current = existsSync(FILE)
  ? readFileSync(FILE, "utf8")
  : "# Reliability\n\nGenerated from the suites' output; each figure names the command that produced it.\n\n";
const next =
  current.includes(BEGIN) && current.includes(END)
    ? current.slice(0, current.indexOf(BEGIN)) + section + current.slice(current.indexOf(END) + END.length)
    : `${current.trimEnd()}\n\n${section}\n`;
writeFileSync(FILE, next);
console.log(`wrote ${FILE}`);
