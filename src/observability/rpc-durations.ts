/**
 * The handler-time histogram of RPCs, tallied in plain numbers per call and turned into
 * Prometheus series only when scraped. prom-client's Histogram checks and hashes its labels
 * and allocates on every observe, which on a Select cost about as much as choosing the
 * backend; this keeps the same series (`_bucket` with `le` first, `_sum`, `_count`, by
 * method) and registers with the same Registry.
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
  readonly value: number;
  readonly metricName: string;
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
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The totals of `method`, made on first use; callers keep them to skip the lookup. */
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

  /** The series, as prom-client's Registry reads a metric. */
  async get(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }> {
    const values: Sample[] = [];
    for (const [method, tally] of this.tallies) {
      let below = 0;
      this.bounds.forEach((le, i) => {
        below += tally.buckets[i]!;
        values.push({ labels: { le, method }, value: below, metricName: `${this.name}_bucket` });
      });
      values.push(
        { labels: { le: "+Inf", method }, value: tally.count, metricName: `${this.name}_bucket` },
        { labels: { method }, value: tally.sum, metricName: `${this.name}_sum` },
        { labels: { method }, value: tally.count, metricName: `${this.name}_count` },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Zeroes every tally in place: callers keep theirs. */
  reset(): void {
    for (const tally of this.tallies.values()) {
      tally.buckets.fill(0);
      tally.sum = 0;
      tally.count = 0;
    }
  }
}
