/**
 * The dashboard's browser code as one ES module: dashboard/src/main.ts with the generated API
 * code and the npm packages it imports, bundled and minified by esbuild. `npm run build` writes
 * it to dist/dashboard/ (scripts/build-dashboard.mjs); a server running from the sources builds
 * it in process on first request instead (dashboard-assets.ts), so neither path has a step to
 * run by hand. esbuild is loaded only here, and only when a bundle is built.
 */
import * as path from "node:path";

/** The bundle of the dashboard under `root` (the folder holding dashboard/ and gen/). */
export async function bundleDashboard(root: string): Promise<Uint8Array> {
  const { build } = await import("esbuild");
  const result = await build({
    absWorkingDir: root,
    entryPoints: [path.join(root, "dashboard", "src", "main.ts")],
    tsconfig: path.join(root, "dashboard", "tsconfig.json"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    logLevel: "silent",
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error("esbuild produced no dashboard bundle");
  return output.contents;
}
