/**
 * Each backend's share of selections over a sliding window, from running totals sampled now
 * and then (BackendStatus.selections of GetService): a point per sample, the share of the
 * selections made since the previous sample. Pure.
 */

/** One sample: seconds since the epoch and each backend's running total. */
interface Sample {
  readonly at: number;
  readonly totals: ReadonlyMap<string, number>;
}

/** uPlot-ready series: x (seconds) and, per backend, its share in percent (null: no selections then). */
export interface ShareSeries {
  readonly times: number[];
  readonly backends: string[];
  readonly shares: (number | null)[][];
  /** Selections counted across the window. */
  readonly total: number;
}

export class ShareHistory {
  private samples: Sample[] = [];

  constructor(private readonly windowSeconds: number) {}

  /** Adds a sample taken at `at` (seconds). */
  add(at: number, totals: ReadonlyMap<string, number>): void {
    this.samples.push({ at, totals });
    // One sample older than the window stays: it is the baseline of the window's first point.
    while (this.samples.length > 2 && this.samples[1]!.at < at - this.windowSeconds) this.samples.shift();
  }

  /** Forgets every sample (another service is on screen). */
  clear(): void {
    this.samples = [];
  }

  series(): ShareSeries {
    const backends = [...new Set(this.samples.flatMap((s) => [...s.totals.keys()]))].sort();
    const times: number[] = [];
    const shares: (number | null)[][] = backends.map(() => []);
    let total = 0;
    for (let i = 1; i < this.samples.length; i++) {
      const before = this.samples[i - 1]!;
      const now = this.samples[i]!;
      // A total that went down restarted (the server did, or the backend rejoined): count from 0.
      const deltas = backends.map((id) => {
        const current = now.totals.get(id) ?? 0;
        const previous = before.totals.get(id) ?? 0;
        return current >= previous ? current - previous : current;
      });
      const sum = deltas.reduce((a, b) => a + b, 0);
      total += sum;
      times.push(now.at);
      deltas.forEach((delta, b) => {
        shares[b]!.push(sum > 0 ? (100 * delta) / sum : null);
      });
    }
    return { times, backends, shares, total };
  }
}
