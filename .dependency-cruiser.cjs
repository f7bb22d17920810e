/**
 * The dependency rules of docs/architecture.md, checked in `npm run lint`.
 * Core = balancer, registry, watch, health, quota, sessions, report, cache, and the leaf model/: pure TypeScript.
 */
const CORE_FOLDERS = "balancer|registry|watch|health|quota|sessions|report|cache|model";
const CORE = `^src/(${CORE_FOLDERS})/`;
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "No circular imports.",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-core-folder-cycles",
      severity: "error",
      comment: "No cycle between core folders, not only between files: registry and balancer meet in model/.",
      scope: "folder",
      from: { path: `^src/(${CORE_FOLDERS})` },
      to: { path: `^src/(${CORE_FOLDERS})`, circular: true },
    },
    {
      name: "registry-and-balancer-apart",
      severity: "error",
      comment:
        "The registry owns membership, the balancer runtime state; they meet in model/ (membership.ts), never directly.",
      from: { path: "^src/(registry|balancer)/" },
      to: { path: "^src/(registry|balancer)/", pathNot: "^src/$1/" },
    },
    {
      name: "model-is-leaf",
      severity: "error",
      comment: "model/ holds the specs and config types the core folders share; it imports only shared/.",
      from: { path: "^src/model/" },
      to: { path: "^src/(?!model/|shared/)" },
    },
    {
      name: "core-is-pure",
      severity: "error",
      comment: "The core imports no adapters, no generated code, no I/O libraries (rule 2).",
      from: { path: CORE },
      to: {
        path: [
          "^src/(rpc|app|store|observability|config)/",
          "^gen/",
          "@grpc/",
          "@connectrpc/",
          "@bufbuild/protobuf",
          "ioredis",
          "pino",
          "prom-client",
        ],
      },
    },
    {
      name: "core-no-network",
      severity: "error",
      comment: "The core does no network I/O (rule 2).",
      from: { path: CORE },
      to: { dependencyTypes: ["core"], path: "^(node:)?(net|http|http2|https|dgram|fs|child_process|tls)$" },
    },
    {
      name: "shared-is-leaf",
      severity: "error",
      comment: "shared/ depends on nothing of ours.",
      from: { path: "^src/shared/" },
      to: { path: "^src/(?!shared/)" },
    },
    {
      name: "only-codec-touches-gen",
      severity: "error",
      comment:
        "Generated code stays at the edge: only rpc/ (the codec and the servers) and cli/ import gen/ (docs/architecture.md).",
      from: { path: "^src/", pathNot: "^src/(rpc|cli)/" },
      to: { path: "^gen/" },
    },
    {
      name: "config-owns-no-defaults-of-adapters",
      severity: "error",
      comment:
        "The config schema takes its defaults from the core (or names its own), never from rpc/, store/ or app/.",
      from: { path: "^src/config/" },
      to: { path: "^src/(rpc|store|app)/" },
    },
    {
      name: "inward-only",
      severity: "error",
      comment: "Adapters never import the composition root; the core never imports adapters (rule 1).",
      from: { path: "^src/(rpc|store|observability)/" },
      to: { path: "^src/(app|main)" },
    },
    {
      name: "no-dev-dependencies-at-run-time",
      severity: "error",
      comment:
        "The packed package installs only dependencies: src/ needs nothing from devDependencies (tsx included). " +
        "Except the dashboard's bundler (esbuild): it runs only from the sources; a build serves dist/dashboard/.",
      from: { path: "^src/", pathNot: "^src/app/dashboard-bundle\\.ts$" },
      to: { dependencyTypes: ["npm-dev"] },
    },
    {
      name: "env-and-files-at-the-edge",
      severity: "error",
      comment: "Only app/, config/ and main read process.env or files (rule 4).",
      from: { path: "^src/", pathNot: "^src/(app|config)/|^src/main\\.ts$" },
      to: { dependencyTypes: ["core"], path: "^(node:)?fs$" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
    },
  },
};
