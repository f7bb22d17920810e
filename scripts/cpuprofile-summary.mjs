#!/usr/bin/env node
// `node scripts/cpuprofile-summary.mjs <file.cpuprofile> [--top N] [--from-us T --to-us T]`:
// where a V8 CPU profile (node --cpu-prof) spent its time. Prints the top frames by self time
// and by total time (a frame counted once per sample however deep it recurses), and self time
// per package (grpc-js, protobuf-es, node internals, Fulcrum's src/...), each as a share of the
// busy (non-idle) time. --from-us/--to-us keep only samples in that window of the monotonic
// clock (process.hrtime in microseconds, the profile's own clock on Linux), e.g. the load
// phase without the startup.
import { readFileSync } from "node:fs";

const IDLE = new Set(["(idle)", "(program)", "(garbage collector)"]);

function parseArgs(argv) {
  const files = [];
  let top = 25;
  let from = Number.NEGATIVE_INFINITY;
  let to = Number.POSITIVE_INFINITY;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--top") top = Number(argv[++i]);
    else if (argv[i] === "--from-us") from = Number(argv[++i]);
    else if (argv[i] === "--to-us") to = Number(argv[++i]);
    else files.push(argv[i]);
  }
  if (files.length === 0 || !Number.isInteger(top) || top <= 0 || Number.isNaN(from) || Number.isNaN(to)) {
    console.error(
      "usage: node scripts/cpuprofile-summary.mjs <file.cpuprofile>... [--top N] [--from-us T --to-us T]",
    );
    process.exit(2);
  }
  return { files, top, window: { from, to } };
}

function frameKey({ functionName, url, lineNumber }) {
  const file = url.replace(/^file:\/\//, "").replace(/^.*\/node_modules\//, "");
  const short = file.replace(/^.*\/(src|bench|gen)\//, "$1/");
  return `${functionName || "(anonymous)"} ${short}:${lineNumber + 1}`;
}

function packageOf({ functionName, url }) {
  if (IDLE.has(functionName) || functionName === "(root)") return functionName;
  if (url === "") return "(native / builtin)";
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0]}`;
  const inModules = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return inModules[1];
  const own = /\/(src\/[^/]+|gen|bench)\//.exec(url);
  return own ? own[1] : url;
}

function summarize(profile, window) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map();
  const total = new Map();
  const packages = new Map();
  let busy = 0;
  let idle = 0;
  const add = (map, key, us) => map.set(key, (map.get(key) ?? 0) + us);
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    at += us;
    if (at < window.from || at > window.to) return;
    const node = byId.get(id);
    if (IDLE.has(node.callFrame.functionName) && node.callFrame.functionName !== "(garbage collector)") {
      idle += us;
      return;
    }
    busy += us;
    add(self, frameKey(node.callFrame), us);
    add(packages, packageOf(node.callFrame), us);
    const seen = new Set();
    for (let frame = id; frame !== undefined; frame = parent.get(frame)) {
      const key = frameKey(byId.get(frame).callFrame);
      if (!seen.has(key)) add(total, key, us);
      seen.add(key);
    }
  });
  return { self, total, packages, busy, idle };
}

function table(title, map, busy, top) {
  console.log(`\n${title}`);
  const rows = [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [key, us] of rows)
    console.log(
      `${((100 * us) / busy).toFixed(1).padStart(6)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`,
    );
}

const { files, top, window } = parseArgs(process.argv.slice(2));
for (const file of files) {
  const { self, total, packages, busy, idle } = summarize(JSON.parse(readFileSync(file, "utf8")), window);
  console.log(`# ${file}: busy ${(busy / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms`);
  table("self time by package", packages, busy, top);
  table("self time by frame", self, busy, top);
  table("total time by frame (callers included)", total, busy, top);
}
