/**
 * The backends of the service on screen, one row each, kept by id so a live update rewrites
 * cells in place (a button keeps its focus and its pending confirmation). Text only through
 * textContent: nothing from the API is ever parsed as HTML.
 */

import { type BackendStatus, HealthState } from "../../gen/fulcrum/v1/types_pb.js";
import { el } from "./dom.js";
import { durationMs, formatAmount, formatLatency, headroomTone, healthName, healthTone } from "./format.js";
import { type BackendView, inMaintenance, type ServiceView } from "./watch-state.js";

/** What the row buttons do; each resolves when the API answered (failures are shown, never thrown). */
export interface BackendActions {
  drain(backendId: string): Promise<void>;
  maintenance(backendId: string, on: boolean): Promise<void>;
}

/** A drain needs a second click within this time. */
const CONFIRM_MS = 4_000;

interface Row {
  readonly tr: HTMLTableRowElement;
  readonly cells: HTMLTableCellElement[];
  readonly drain: HTMLButtonElement;
  readonly maintenance: HTMLButtonElement;
}

function quotaBars(cell: HTMLElement, registered: BackendStatus, figures: BackendStatus | undefined): void {
  const quotas = registered.backend?.quotas ?? [];
  if (quotas.length === 0) {
    cell.replaceChildren(el("span", "muted", "-"));
    return;
  }
  cell.replaceChildren(
    ...quotas.map((quota) => {
      const remaining = figures?.quotaRemaining[quota.dimension] ?? quota.limit;
      const ratio = quota.limit > 0 ? Math.min(1, Math.max(0, remaining / quota.limit)) : 0;
      const line = el("div", "quota");
      line.dataset.dimension = quota.dimension;
      const bar = el("span", "bar");
      const fill = el("span", `fill ${headroomTone(ratio)}`);
      fill.style.width = `${(ratio * 100).toFixed(1)}%`;
      bar.append(fill);
      const label = `${quota.dimension} ${formatAmount(remaining)} / ${formatAmount(quota.limit)}`;
      line.append(el("span", "dim", label), bar);
      line.title = `${label} remaining in the current window`;
      return line;
    }),
  );
}

function stateTags(cell: HTMLElement, view: BackendView): void {
  const live = view.figures ?? view.status;
  const tags: HTMLElement[] = [];
  if (inMaintenance(view)) tags.push(el("span", "tag bad", "maintenance"));
  if (view.status.draining) tags.push(el("span", "tag warn", "draining"));
  if (live.ejected) tags.push(el("span", "tag bad", "ejected"));
  // Why it left HEALTHY is worth a glance; why it came back is in the list of changes.
  const unwell = view.status.health !== HealthState.HEALTHY;
  if (unwell && view.healthReason && !inMaintenance(view))
    tags.push(el("span", "muted reason", view.healthReason));
  cell.replaceChildren(...(tags.length > 0 ? tags : [el("span", "muted", "-")]));
}

export class BackendTable {
  private readonly rows = new Map<string, Row>();
  private readonly armed = new Map<string, number>();
  private view: ServiceView | undefined;

  constructor(
    private readonly body: HTMLTableSectionElement,
    private readonly actions: BackendActions,
  ) {}

  render(view: ServiceView): void {
    this.view = view;
    const ids = [...view.backends.keys()].sort();
    for (const [id, row] of this.rows)
      if (!view.backends.has(id)) {
        row.tr.remove();
        this.rows.delete(id);
      }
    for (const id of ids) {
      const row = this.rows.get(id) ?? this.newRow(id);
      this.fill(row, id, view.backends.get(id)!);
      this.body.append(row.tr);
    }
  }

  private newRow(id: string): Row {
    const tr = el("tr");
    tr.dataset.backend = id;
    const cells = Array.from({ length: 8 }, (_, i) => el("td", [2, 3, 5].includes(i) ? "num" : ""));
    const drain = el("button", "action", "Drain");
    drain.dataset.action = "drain";
    drain.addEventListener("click", () => this.onDrain(id, drain));
    const maintenance = el("button", "action");
    maintenance.dataset.action = "maintenance";
    maintenance.addEventListener("click", () => {
      const backend = this.view?.backends.get(id);
      if (backend) this.run(maintenance, () => this.actions.maintenance(id, !inMaintenance(backend)));
    });
    cells[7]!.append(drain, maintenance);
    tr.append(...cells);
    const row = { tr, cells, drain, maintenance };
    this.rows.set(id, row);
    return row;
  }

  private fill(row: Row, id: string, view: BackendView): void {
    const [name, health, inFlight, latency, quota, pins, state] = row.cells;
    const { status } = view;
    const live = view.figures ?? status;
    const spec = status.backend;
    const where = [spec?.address !== id ? spec?.address : "", spec?.zone, `weight ${spec?.weight || 1}`];
    name!.replaceChildren(el("strong", "", id), el("div", "muted small", where.filter(Boolean).join(" · ")));
    const badge = el("span", `badge ${healthTone(status.health)}`, healthName(status.health));
    health!.replaceChildren(badge);
    health!.dataset.health = healthName(status.health);
    const max = spec?.maxConnections ? ` / ${spec.maxConnections}` : "";
    inFlight!.textContent = `${live.inFlight}${max}`;
    latency!.textContent = formatLatency(durationMs(live.ewmaLatency));
    quotaBars(quota!, status, view.figures);
    pins!.textContent = String(live.pinnedSessions);
    stateTags(state!, view);
    row.tr.classList.toggle("draining", status.draining);
    row.drain.disabled = status.draining;
    if (!this.armed.has(id)) row.drain.textContent = status.draining ? "Draining" : "Drain";
    row.maintenance.textContent = inMaintenance(view) ? "End maintenance" : "Maintenance";
  }

  /** First click arms the button, a second one within CONFIRM_MS drains. */
  private onDrain(id: string, button: HTMLButtonElement): void {
    const timer = this.armed.get(id);
    if (timer === undefined) {
      button.textContent = "Confirm drain";
      button.classList.add("armed");
      this.armed.set(
        id,
        window.setTimeout(() => {
          this.armed.delete(id);
          button.classList.remove("armed");
          button.textContent = "Drain";
        }, CONFIRM_MS),
      );
      return;
    }
    window.clearTimeout(timer);
    this.armed.delete(id);
    button.classList.remove("armed");
    this.run(button, () => this.actions.drain(id));
  }

  private run(button: HTMLButtonElement, action: () => Promise<void>): void {
    button.disabled = true;
    void action().finally(() => {
      button.disabled = false;
      if (this.view) this.render(this.view);
    });
  }
}
