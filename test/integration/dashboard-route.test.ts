/**
 * The dashboard's files on the web port (behaviour.md O9): only the allow-listed paths, with a
 * Content-Security-Policy that allows no inline code and nosniff; the browser bundle is built in
 * process; web.dashboard: false turns it all off. The files hold no data, so they are served
 * even when auth.protectProbes guards the plain HTTP paths (A2).
 */
import * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { tokensFile, tokensYaml } from "../support/auth.js";
import { startFulcrum } from "../support/server.js";

let app: App;
let off: App;
let guarded: App;
beforeAll(async () => {
  const file = tokensFile(
    tokensYaml([{ name: "ops", token: "ops-token-0123456789", scopes: ["admin"] }]),
  ).path;
  [app, off, guarded] = await Promise.all([
    startFulcrum(),
    startFulcrum({ web: { dashboard: false } }),
    startFulcrum({ auth: { tokensFile: file, protectProbes: true } }),
  ]);
});
afterAll(async () => {
  await Promise.all([app?.close(), off?.close(), guarded?.close()]);
});

/** A raw GET (node:http keeps the path exactly as written, `..` and all). */
function get(port: number, path: string, headers: Record<string, string> = {}, method = "GET") {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      const request = http.request({ host: "127.0.0.1", port, path, method, headers }, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => {
          body += chunk;
        });
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      });
      request.on("error", reject);
      request.end();
    },
  );
}

describe("dashboard files", { timeout: 60_000 }, () => {
  it("O9: the page, its styles and its bundle, each with CSP (no inline code) and nosniff", async () => {
    const page = await get(app.webPort, "/");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    const csp = page.headers["content-security-policy"]!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.body).not.toMatch(/<script>|<style>| style=| on[a-z]+=/);
    for (const [path, type] of [
      ["/dashboard/app.js", "text/javascript; charset=utf-8"],
      ["/dashboard/app.css", "text/css; charset=utf-8"],
      ["/dashboard/uplot.css", "text/css; charset=utf-8"],
      ["/dashboard/icon.svg", "image/svg+xml"],
    ]) {
      const asset = await get(app.webPort, path!);
      expect([path, asset.status, asset.headers["content-type"]]).toEqual([path, 200, type]);
      expect(asset.headers["x-content-type-options"]).toBe("nosniff");
    }
    const again = await get(app.webPort, "/", { "if-none-match": page.headers.etag! });
    expect(again.status).toBe(304);
  });

  it("O9: nothing outside the allow-list: traversal, package files, sources; GET and HEAD only", async () => {
    for (const path of [
      "/dashboard/../package.json",
      "/dashboard/%2e%2e/package.json",
      "/../../etc/passwd",
      "/package.json",
      "/dashboard/src/main.ts",
      "/dashboard/",
      "/node_modules/uplot/package.json",
      "/index.html",
    ])
      expect([path, (await get(app.webPort, path)).status]).toEqual([path, 404]);
    expect((await get(app.webPort, "/", {}, "POST")).status).toBe(405);
    const head = await get(app.webPort, "/dashboard/app.css", {}, "HEAD");
    expect([head.status, head.body]).toEqual([200, ""]);
  });

  it("O9: web.dashboard false serves no page; the probes stay", async () => {
    expect((await get(off.webPort, "/")).status).toBe(404);
    expect((await get(off.webPort, "/dashboard/app.js")).status).toBe(404);
    expect((await get(off.webPort, "/healthz")).status).toBe(200);
  });

  it("O9 A2: with protectProbes the page is still served (it holds no data); /metrics is not", async () => {
    expect((await get(guarded.webPort, "/")).status).toBe(200);
    expect((await get(guarded.webPort, "/metrics")).status).toBe(401);
  });
});
