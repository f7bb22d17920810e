/** The page's smaller parts: the service list, the list of recent changes, the status pill, notices. */

import { el } from "./dom.js";
import type { Connection } from "./watch-loop.js";
import { type ChangeNote, healthyCount, type WatchState } from "./watch-state.js";

/** Changes listed, newest first. */
const CHANGES_KEPT = 30;
/** A notice that reports success goes away after this; failures stay until the next notice. */
const NOTICE_MS = 6_000;

/** The services, each with healthy / all; a click selects one. */
export class ServiceList {
  constructor(
    private readonly list: HTMLUListElement,
    private readonly empty: HTMLElement,
    private readonly onSelect: (name: string) => void,
  ) {}

  render(state: WatchState, selected: string): void {
    const names = [...state.services.keys()].sort();
    this.empty.hidden = names.length > 0;
    this.list.replaceChildren(
      ...names.map((name) => {
        const service = state.services.get(name)!;
        const healthy = healthyCount(service);
        const all = service.backends.size;
        const tone = all === 0 || healthy === 0 ? "bad" : healthy < all ? "warn" : "good";
        const button = el("button", "service");
        button.dataset.service = name;
        if (name === selected) button.setAttribute("aria-current", "true");
        const count = el("span", `count ${tone}`, `${healthy} / ${all}`);
        count.dataset.healthy = String(healthy);
        button.append(el("span", "name", name), count);
        button.addEventListener("click", () => this.onSelect(name));
        const item = el("li");
        item.append(button);
        return item;
      }),
    );
  }
}

/** Recent changes from Watch, newest first, with the time they arrived. */
export class ChangeLog {
  constructor(private readonly list: HTMLOListElement) {}

  add(note: ChangeNote): void {
    const item = el("li", note.tone);
    const time = new Date().toLocaleTimeString([], { hour12: false });
    item.append(
      el("time", "muted", time),
      el("span", "service-name", note.service),
      el("span", "", note.text),
    );
    this.list.prepend(item);
    while (this.list.children.length > CHANGES_KEPT) this.list.lastElementChild?.remove();
  }
}

/** The header's pill: live, connecting, or why it is retrying. */
export function showConnection(connection: Connection): void {
  const pill = document.getElementById("connection")!;
  pill.dataset.state = connection.kind;
  if (connection.kind === "live" || connection.kind === "connecting") {
    pill.textContent = connection.kind;
    pill.title = "";
    return;
  }
  const seconds = Math.ceil(connection.inMs / 1_000);
  pill.textContent = `${connection.kind === "denied" ? "not allowed" : "reconnecting"} in ${seconds}s`;
  pill.title = connection.reason;
  if (connection.kind === "denied") showNotice(`watch: ${connection.reason}`, "bad");
}

let noticeTimer: number | undefined;

/** A one-line message under the header. */
export function showNotice(text: string, tone: "info" | "bad"): void {
  const notice = document.getElementById("notice")!;
  notice.textContent = text;
  notice.className = `notice ${tone}`;
  notice.hidden = false;
  window.clearTimeout(noticeTimer);
  if (tone === "info") noticeTimer = window.setTimeout(() => (notice.hidden = true), NOTICE_MS);
}
