/**
 * What the soak samples from each replica's /metrics (prom-client's default process and
 * Node metrics), and the growth figures over a run.
 */

/** One sample of one replica. */
export interface Sample {
  /** Seconds since the run started. */
  readonly atSeconds: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /** p99 of the event-loop delay over prom-client's last monitoring period, seconds. */
  readonly eventLoopP99Seconds: number;
  readonly activeHandles: number;
}

function metric(text: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

/** Reads one sample from the replica's web port. */
export async function sampleReplica(webPort: number, atSeconds: number): Promise<Sample> {
  const response = await fetch(`http://127.0.0.1:${webPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  return {
    atSeconds,
    rssBytes: metric(text, "process_resident_memory_bytes"),
    heapUsedBytes: metric(text, "nodejs_heap_size_used_bytes"),
    eventLoopP99Seconds: metric(text, "nodejs_eventloop_lag_p99_seconds"),
    activeHandles: metric(text, "nodejs_active_handles_total"),
  };
}

/** Growth of one replica: the mean of the last fifth of samples over the mean of the second fifth (after warm-up). */
export interface Growth {
  readonly rssRatio: number;
  readonly heapRatio: number;
  readonly handlesRatio: number;
  readonly rssWarmMiB: number;
  readonly rssEndMiB: number;
  readonly heapWarmMiB: number;
  readonly heapEndMiB: number;
  readonly handlesWarm: number;
  readonly handlesEnd: number;
  readonly maxEventLoopP99Ms: number;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
const MIB = 1024 * 1024;

/** Growth over `samples` (at least 5 of them). */
export function growthOf(samples: readonly Sample[]): Growth {
  const fifth = Math.max(1, Math.floor(samples.length / 5));
  const warm = samples.slice(fifth, 2 * fifth);
  const end = samples.slice(samples.length - fifth);
  const of = (pick: (s: Sample) => number) => ({ warm: mean(warm.map(pick)), end: mean(end.map(pick)) });
  const rss = of((s) => s.rssBytes);
  const heap = of((s) => s.heapUsedBytes);
  const handles = of((s) => s.activeHandles);
  return {
    rssRatio: rss.end / rss.warm,
    heapRatio: heap.end / heap.warm,
    handlesRatio: handles.end / handles.warm,
    rssWarmMiB: rss.warm / MIB,
    rssEndMiB: rss.end / MIB,
    heapWarmMiB: heap.warm / MIB,
    heapEndMiB: heap.end / MIB,
    handlesWarm: handles.warm,
    handlesEnd: handles.end,
    maxEventLoopP99Ms: Math.max(...samples.slice(fifth).map((s) => s.eventLoopP99Seconds * 1000)),
  };
}

/** The bound a soak must hold, stated once. */
export const SOAK_BOUND = {
  /** RSS and heap in use at the end at most this many times their level after warm-up. */
  memoryRatio: 1.25,
  /** Open handles at the end at most this many times their level after warm-up. */
  handlesRatio: 1.25,
  /** p99 event-loop delay never above this after warm-up, ms. */
  eventLoopP99Ms: 250,
} as const;

/** The parts of `growth` over SOAK_BOUND, in words; empty when it held. */
export function overBound(growth: Growth): string[] {
  const over: string[] = [];
  if (growth.rssRatio > SOAK_BOUND.memoryRatio) over.push(`RSS grew ${growth.rssRatio.toFixed(2)} x`);
  if (growth.heapRatio > SOAK_BOUND.memoryRatio) over.push(`heap grew ${growth.heapRatio.toFixed(2)} x`);
  if (growth.handlesRatio > SOAK_BOUND.handlesRatio)
    over.push(`handles grew ${growth.handlesRatio.toFixed(2)} x`);
  if (growth.maxEventLoopP99Ms > SOAK_BOUND.eventLoopP99Ms)
    over.push(`event-loop p99 reached ${growth.maxEventLoopP99Ms.toFixed(0)} ms`);
  return over;
}
