// Part of `npm run build`, after tsc: writes the dashboard to dist/dashboard/ (the page, its
// styles, uPlot's styles and the browser bundle), so the compiled server serves it without
// esbuild or any dev dependency at run time. The bundle is made by the server's own
// bundleDashboard, the one a server running from the sources uses in process.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = `${root}dist/dashboard/`;
const { bundleDashboard } = await import(`${root}dist/src/app/dashboard-bundle.js`);
const { UPLOT_CSS } = await import(`${root}dist/src/app/dashboard-assets.js`);

mkdirSync(out, { recursive: true });
for (const file of ["index.html", "app.css", "icon.svg"])
  copyFileSync(`${root}dashboard/${file}`, out + file);
copyFileSync(createRequire(import.meta.url).resolve(UPLOT_CSS), `${out}uplot.css`);
writeFileSync(`${out}app.js`, await bundleDashboard(root));
