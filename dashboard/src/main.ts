/**
 * The dashboard (behaviour.md O9): services and their backends live from one Watch stream; the
 * service on screen also has its live figures (in flight, latency, quota, pins, selections)
 * read with one GetService every FIGURES_EVERY_MS while the tab is visible, the only call
 * the page repeats. Drain and maintenance go through the API under the page's token.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { HealthState, Strategy } from "../../gen/fulcrum/v1/types_pb.js";
import { createApi, describeError } from "./api.js";
import { BackendTable } from "./backend-table.js";
import { ShareChart } from "./chart.js";
import { ShareHistory } from "./share-history.js";
import { bindToken } from "./token.js";
import { ChangeLog, ServiceList, showConnection, showNotice } from "./view.js";
import { startWatchLoop } from "./watch-loop.js";
import { MAINTENANCE_REASON, WatchState } from "./watch-state.js";

/** How often the service on screen has its live figures read. */
const FIGURES_EVERY_MS = 2_000;
/** The share chart's window. */
const SHARE_WINDOW_S = 300;

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const state = new WatchState();
const history = new ShareHistory(SHARE_WINDOW_S);
const token = bindToken(() => {
  // Another token may see less: start over from snapshots of what it may watch.
  state.services.clear();
  scheduleRender();
  watch.restart();
  void readFigures();
});
const api = createApi(token);
const changes = new ChangeLog(byId("events"));
const chart = new ShareChart(byId("share-chart"));
let selected = decodeURIComponent(window.location.hash.slice(1));

const services = new ServiceList(byId("services"), byId("no-services"), (name) => {
  window.location.hash = encodeURIComponent(name);
});
const table = new BackendTable(byId<HTMLTableSectionElement>("backends").querySelector("tbody")!, {
  async drain(backendId) {
    const service = selected;
    try {
      const answer = await api.registry.deregister({ service, backendIds: [backendId], drain: true });
      const what = answer.draining > 0 ? "draining" : answer.removed > 0 ? "removed" : "unchanged";
      showNotice(`${service} ${backendId}: ${what}`, "info");
    } catch (error) {
      showNotice(`drain ${backendId}: ${describeError(error)}`, "bad");
    }
  },
  async maintenance(backendId, on) {
    const service = selected;
    const health = on ? HealthState.UNHEALTHY : HealthState.HEALTHY;
    try {
      await api.registry.setHealth({ service, backendId, health, reason: MAINTENANCE_REASON });
      showNotice(`${service} ${backendId}: maintenance ${on ? "on" : "off"}`, "info");
    } catch (error) {
      showNotice(`maintenance ${backendId}: ${describeError(error)}`, "bad");
    }
  },
});

let renderPending = false;
function scheduleRender(): void {
  if (renderPending) return;
  renderPending = true;
  window.requestAnimationFrame(() => {
    renderPending = false;
    render();
  });
}

function render(): void {
  const names = [...state.services.keys()].sort();
  if (!state.services.has(selected) && names.length > 0) select(names[0]!);
  services.render(state, selected);
  const view = state.services.get(selected);
  byId("service").hidden = !view;
  if (!view) return;
  byId("service-name").textContent = view.name;
  const strategy = view.config?.strategy?.strategy || Strategy.ROUND_ROBIN;
  const meta = [`version ${view.version}`, Strategy[strategy] ?? "", `${view.backends.size} backends`];
  byId("service-meta").textContent = meta.join(" · ");
  table.render(view);
}

function select(name: string): void {
  if (name === selected) return;
  selected = name;
  history.clear();
  chart.show(history.series());
  if (decodeURIComponent(window.location.hash.slice(1)) !== name)
    window.history.replaceState(null, "", `#${encodeURIComponent(name)}`);
  void readFigures();
}

window.addEventListener("hashchange", () => {
  select(decodeURIComponent(window.location.hash.slice(1)));
  scheduleRender();
});

/** One GetService of the service on screen: live figures and a sample of its selection totals. */
async function readFigures(): Promise<void> {
  const service = selected;
  if (!service || document.hidden) return;
  try {
    const answer = await api.registry.getService({ service });
    if (!answer.service || service !== selected) return;
    state.applyFigures(answer.service);
    const totals = new Map(answer.service.backends.map((b) => [b.backend?.id ?? "", Number(b.selections)]));
    history.add(Date.now() / 1_000, totals);
    const series = history.series();
    chart.show(series);
    byId("share-empty").hidden = series.total > 0;
    scheduleRender();
  } catch (error) {
    // A service removed a moment ago: Watch says so too.
    if (ConnectError.from(error).code !== Code.NotFound)
      showNotice(`figures: ${describeError(error)}`, "bad");
  }
}

const watch = startWatchLoop({
  api,
  resumeVersions: () => state.resumeVersions(),
  onMessage(message) {
    const note = state.apply(message);
    if (note) changes.add(note);
    scheduleRender();
  },
  onConnection: showConnection,
});

window.setInterval(() => void readFigures(), FIGURES_EVERY_MS);
document.addEventListener("visibilitychange", () => void readFigures());
chart.show(history.series());
render();
