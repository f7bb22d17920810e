/**
 * The dashboard's files (behaviour.md O9) as an allow-list: each URL path names one file, and
 * no part of a request's path is ever joined to a folder. A build (dist/dashboard/, written by
 * `npm run build`) holds all five; a server running from the sources reads the page from
 * dashboard/, uPlot's styles from node_modules, and builds the bundle in process on first
 * request (dashboard-bundle.ts). Each file is read once and kept in memory.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { bundleDashboard } from "./dashboard-bundle.js";

/** One servable file, read once. */
export interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
  /** Strong ETag of the body, for conditional GETs. */
  readonly etag: string;
}

/** Loads an asset on first use and keeps it; a failed load is retried on the next request. */
export type AssetLoader = () => Promise<Asset>;

const HTML = "text/html; charset=utf-8";
const CSS = "text/css; charset=utf-8";
const JS = "text/javascript; charset=utf-8";
const SVG = "image/svg+xml";

/** uPlot's stylesheet in its npm package. */
export const UPLOT_CSS = "uplot/dist/uPlot.min.css";

/** The folder holding dashboard/: the checkout from src/app/, dist/ from dist/src/app/. */
function checkoutRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "dashboard", "index.html"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("dashboard/index.html not found above the server's sources");
    dir = parent;
  }
  return dir;
}

function assetOf(contentType: string, body: Buffer): Asset {
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
  return { contentType, body, etag };
}

function once(load: () => Promise<Asset>): AssetLoader {
  let loading: Promise<Asset> | undefined;
  return () => {
    loading ??= load().catch((cause: unknown) => {
      loading = undefined;
      throw cause;
    });
    return loading;
  };
}

function fileAsset(file: string, contentType: string): AssetLoader {
  return once(async () => assetOf(contentType, await readFile(file)));
}

/** `file` when a build wrote it, else what `otherwise` makes. */
function builtOr(file: string, contentType: string, otherwise: () => Promise<Uint8Array>): AssetLoader {
  if (existsSync(file)) return fileAsset(file, contentType);
  return once(async () => assetOf(contentType, Buffer.from(await otherwise())));
}

/** URL path -> asset: everything the dashboard serves, and nothing else. */
export function dashboardAssets(): ReadonlyMap<string, AssetLoader> {
  const root = checkoutRoot();
  const own = (name: string) => path.join(root, "dashboard", name);
  const uplotStyles = () => readFile(createRequire(import.meta.url).resolve(UPLOT_CSS));
  return new Map([
    ["/", fileAsset(own("index.html"), HTML)],
    ["/dashboard/app.css", fileAsset(own("app.css"), CSS)],
    ["/dashboard/icon.svg", fileAsset(own("icon.svg"), SVG)],
    ["/dashboard/uplot.css", builtOr(own("uplot.css"), CSS, uplotStyles)],
    ["/dashboard/app.js", builtOr(own("app.js"), JS, () => bundleDashboard(root))],
  ]);
}
