/**
 * The dashboard (behaviour.md O9) in real headless Chromium (Debian `chromium`
 * driven by playwright-core): the page loads without console errors, a service registered
 * through the API appears within 2 s, SetHealth turns its backend's state, the drain and
 * maintenance buttons act through the API, and the page reconnects after the server restarts.
 * The screenshot lands in test-artifacts/ (gitignored).
 */
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthState, Strategy } from "../../gen/fulcrum/v1/types_pb.js";
import type { App } from "../../src/app/create-app.js";
import { connectClientsWithToken, tokensFile, tokensYaml } from "../support/auth.js";
import { connectClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { startFulcrum } from "../support/server.js";

const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/", import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
/** Selection rounds for the share chart: each waits one figures interval (2 s) of the page. */
const CHART_ROUNDS = 3;

let app: App;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const pageErrors: string[] = [];

const backend = (id: string, weight: number, limit: number) => ({
  id,
  address: `10.0.0.${weight}:8080`,
  weight,
  zone: weight === 3 ? "eu-west-1b" : "eu-west-1a",
  quotas: [
    { dimension: "requests", limit, window: { seconds: 60n } },
    { dimension: "tokens", limit: 100 * limit, window: { seconds: 60n } },
  ],
});

beforeAll(async () => {
  app = await startFulcrum();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => pageErrors.push(error.message));
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

async function selectRounds(service: string, rounds: number, perRound: number) {
  const { balancer } = connectClients(app.webPort);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < perRound; i++) {
      const answer = await balancer.select({ service, cost: { tokens: 40 } });
      await balancer.report({
        outcomes: [{ ticket: answer.ticket, result: 1, latency: { nanos: 4_000_000 } }],
      });
    }
    await page.waitForTimeout(2_100);
  }
}

describe("dashboard in headless Chromium", { timeout: 120_000 }, () => {
  it("O9: loads without console errors; a registered service appears within 2 s; SetHealth, drain and maintenance show", async () => {
    await page.goto(`http://127.0.0.1:${app.webPort}/`);
    await page.waitForSelector('#connection[data-state="live"]');
    const { registry, balancer } = connectClients(app.webPort);

    await registry.register({
      service: "checkout",
      config: { strategy: { strategy: Strategy.SMOOTH_WEIGHTED } },
      backends: [backend("b1", 1, 600), backend("b2", 2, 1_200), backend("b3", 3, 1_800)],
    });
    await page.waitForSelector('[data-service="checkout"]', { timeout: 2_000 });
    await page.click('[data-service="checkout"]');
    await page.waitForSelector('tr[data-backend="b3"] td[data-health="HEALTHY"]');

    await selectRounds("checkout", CHART_ROUNDS, 60);
    await registry.setHealth({
      service: "checkout",
      backendId: "b1",
      health: HealthState.UNHEALTHY,
      reason: "disk full",
    });
    await page.waitForSelector('tr[data-backend="b1"] td[data-health="UNHEALTHY"]');
    await selectRounds("checkout", CHART_ROUNDS, 60);

    // Held slots keep b2 draining (not removed at once) while the screenshot is taken.
    await balancer.select({ service: "checkout", count: 2 });
    await page.click('tr[data-backend="b2"] button[data-action="drain"]');
    await page.click('tr[data-backend="b2"] button[data-action="drain"]');
    const drained = await eventually(async () => {
      const { service } = await registry.getService({ service: "checkout" });
      const b2 = service?.backends.find((b) => b.backend?.id === "b2");
      return b2 === undefined || b2.draining ? { b2 } : undefined;
    });
    expect(drained.b2 === undefined || drained.b2.draining).toBe(true);

    await page.click('tr[data-backend="b3"] button[data-action="maintenance"]');
    await eventually(async () => {
      const { service } = await registry.getService({ service: "checkout" });
      return service?.backends.find((b) => b.backend?.id === "b3")?.health === HealthState.UNHEALTHY
        ? true
        : undefined;
    });
    await page.waitForSelector('tr[data-backend="b3"] .tag:text("maintenance")');
    const listed = (await registry.listServices({})).services.find((s) => s.name === "checkout")!;
    await page.waitForSelector(`[data-service="checkout"] .count[data-healthy="${listed.healthy}"]`);

    // The slots held on b2 and b3 show once the page has read the figures again.
    await page.waitForSelector('tr[data-backend="b2"] td:nth-child(3):text-is("1")');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
    expect(consoleErrors).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it("O9: after the server restarts on the same port, the page reconnects and follows the new server", async () => {
    const webPort = app.webPort;
    await app.close();
    await page.waitForSelector('#connection[data-state="retrying"]');
    app = await startFulcrum({ web: { port: webPort } });
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 30_000 });
    // The new server (state in memory) no longer has checkout: the resumed stream says so.
    await page.waitForSelector('[data-service="checkout"]', { state: "detached" });
    await connectClients(app.webPort).registry.register({
      service: "after-restart",
      backends: [{ id: "n1", address: "10.0.1.1:80" }],
    });
    await page.waitForSelector('[data-service="after-restart"]');
    expect(pageErrors).toEqual([]);
  });

  it("O9 A2: without a token the page says it may not watch; a token's scopes decide what it sees and does, a watch:pay token sees pay only", async () => {
    const tokens = [
      { name: "viewer", token: "viewer-token-0123456789", scopes: ["watch:*"] },
      { name: "ops", token: "ops-token-0123456789", scopes: ["admin"] },
      { name: "payments", token: "pay-token-0123456789", scopes: ["watch:pay"] },
    ];
    const guarded = await startFulcrum({ auth: { tokensFile: tokensFile(tokensYaml(tokens)).path } });
    const context = await browser.newContext();
    try {
      const ops = connectClientsWithToken(guarded.webPort, "ops-token-0123456789");
      await ops.registry.register({ service: "pay", backends: [{ id: "p1", address: "10.0.2.1:80" }] });
      const viewer = await context.newPage();
      await viewer.goto(`http://127.0.0.1:${guarded.webPort}/`);
      await viewer.waitForSelector('#connection[data-state="denied"]');

      await viewer.fill("#token", "viewer-token-0123456789");
      await viewer.click('#token-form button[type="submit"]');
      await viewer.waitForSelector('#connection[data-state="live"]');
      await viewer.waitForSelector('tr[data-backend="p1"] td[data-health="HEALTHY"]');
      expect(await viewer.evaluate("sessionStorage.getItem('fulcrum.token')")).toBe(
        "viewer-token-0123456789",
      );

      await viewer.click('tr[data-backend="p1"] button[data-action="drain"]');
      await viewer.click('tr[data-backend="p1"] button[data-action="drain"]');
      await viewer.waitForSelector("#notice.bad");
      expect(await viewer.textContent("#notice")).toContain("register:pay");
      const { service } = await ops.registry.getService({ service: "pay" });
      expect(service?.backends[0]?.draining).toBe(false);

      // A token that may watch only pay: the page watches what ListServices shows it.
      await ops.registry.register({ service: "other", backends: [{ id: "o1", address: "10.0.3.1:80" }] });
      await viewer.waitForSelector('[data-service="other"]');
      await viewer.fill("#token", "pay-token-0123456789");
      await viewer.click('#token-form button[type="submit"]');
      await viewer.waitForSelector('[data-service="pay"]');
      await viewer.waitForSelector('#connection[data-state="live"]');
      expect(await viewer.locator('[data-service="other"]').count()).toBe(0);
    } finally {
      await context.close();
      await guarded.close();
    }
  });
});
