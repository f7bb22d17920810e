/** The share-of-selections chart: one line per backend, percent over time (uPlot). */
import uPlot from "uplot";
import type { ShareSeries } from "./share-history.js";

/** Distinct line colours, repeated past eight backends. */
const PALETTE = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];

const HEIGHT = 220;

function optionsFor(backends: readonly string[], width: number): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: true }, y: { range: [0, 100] } },
    legend: { live: false },
    cursor: { show: false },
    axes: [
      { stroke: "#6b7280", grid: { stroke: "#e5e7eb" } },
      { stroke: "#6b7280", grid: { stroke: "#e5e7eb" }, values: (_u, ticks) => ticks.map((t) => `${t}%`) },
    ],
    series: [
      {},
      ...backends.map((label, i) => ({
        label,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => (v === null ? "-" : `${v.toFixed(1)}%`),
      })),
    ],
  };
}

/** A chart in `container`, rebuilt when the set of backends changes, else given new data. */
export class ShareChart {
  private plot: uPlot | undefined;
  private backends = "";

  constructor(private readonly container: HTMLElement) {
    new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: HEIGHT })).observe(container);
  }

  show(series: ShareSeries): void {
    const data: uPlot.AlignedData = [series.times, ...series.shares];
    const key = series.backends.join("\n");
    if (this.plot && key === this.backends) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.backends = key;
    this.plot = new uPlot(optionsFor(series.backends, this.width()), data, this.container);
  }

  private width(): number {
    return Math.max(320, this.container.clientWidth);
  }
}
