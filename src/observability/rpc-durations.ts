/**
 * The handler-time histogram of RPCs, tallied in plain numbers per call and turned into
 * Prometheus series only when scraped. prom-client's Histogram checks and hashes its labels
 * and allocates on every observe, which on a Select cost about as much as choosing the
 * backend; this keeps the same series in the same order (`_bucket`, `_sum`, `_count`, by
 * method in the order first observed) and registers with the same Registry.
 */
import type { Metric, Registry } from "prom-client";

/** One method's running totals. */
export interface DurationTally {
  /** Calls at or under each bucket's bound (not cumulative), in bucket order. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

interface Sample {
  readonly labels: Record<string, string | number>;
  /** Labels the Registry writes after its default labels (prom-client's Histogram puts the method here). */
  readonly sharedLabels?: Record<string, string>;
  readonly value: number;
  readonly metricName: string;
}

interface Series {
  name: string;
  help: string;
  type: string;
  values: Sample[];
  aggregator: string;
}

/** A histogram by `method` whose totals are kept per call and read at scrape. */
export class RpcDurations {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly tallies = new Map<string, DurationTally>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
    /** Called after a reset, so callers drop the totals they kept. */
    private readonly onReset: () => void,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The totals of `method`, made on first use (series are in that order); callers keep them until a reset. */
  tally(method: string): DurationTally {
    let tally = this.tallies.get(method);
    if (!tally) {
      tally = { buckets: new Float64Array(this.bounds.length), sum: 0, count: 0 };
      this.tallies.set(method, tally);
    }
    return tally;
  }

  /** Adds one call of `seconds` to `tally`. */
  observe(tally: DurationTally, seconds: number): void {
    const { bounds } = this;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]!) {
        tally.buckets[i]!++;
        break;
      }
    }
    tally.sum += seconds;
    tally.count++;
  }

  /**
   * The series as the Registry writes them: like prom-client's Histogram, `le` in the labels
   * and the method as a shared label, so with default labels the line reads le, the default
   * labels, then method.
   */
  async getForPromString(): Promise<Series> {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const [method, tally] of this.tallies) {
      const sharedLabels = { method };
      let below = 0;
      this.bounds.forEach((le, i) => {
        below += tally.buckets[i]!;
        values.push({ labels: { le }, sharedLabels, value: below, metricName: bucket });
      });
      values.push(
        { labels: { le: "+Inf" }, sharedLabels, value: tally.count, metricName: bucket },
        { labels: {}, sharedLabels, value: tally.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels, value: tally.count, metricName: `${this.name}_count` },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The series with the method among the labels, as prom-client's Histogram gives them (JSON, merge). */
  async get(): Promise<Series> {
    const series = await this.getForPromString();
    series.values = series.values.map(({ labels, sharedLabels, ...sample }) => ({
      ...sample,
      labels: { ...labels, ...sharedLabels },
    }));
    return series;
  }

  /** Drops every method's series, as prom-client's Histogram does; callers are told to drop theirs. */
  reset(): void {
    this.tallies.clear();
    this.onReset();
  }
}
