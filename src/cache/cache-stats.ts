/**
 * Counters of one tiered cache instance (behaviour.md O1: L1/L2 hits, misses, errors,
 * evictions). Plain numbers bumped on the hot path; an exporter reads `stats()` on scrape.
 */

/** Counters since the cache was created, plus two gauges (`l1Size`, `suppressedKeys`). */
export interface CacheStats {
  l1Hits: number;
  l1Misses: number;
  l2Hits: number;
  l2Misses: number;
  /** L2 operations that failed after every try. */
  l2Errors: number;
  /** Extra tries made by the Retry mode. */
  l2Retries: number;
  /** L2 reads skipped because the key was suppressed (C6). */
  l2Suppressed: number;
  /** L2 records rejected as corrupt (C10). */
  corrupt: number;
  /** L2 hits copied into L1 (C4). */
  refills: number;
  /** Values put into L1 alone from the L2's own atomic path (`fill`). */
  fills: number;
  evictions: number;
  expirations: number;
  /** Loader calls on a miss (one per single flight, C7). */
  loads: number;
  loadErrors: number;
  /** Reads answered with a stale value (C8). */
  staleServed: number;
  /** Background refreshes started (C8). */
  refreshes: number;
  refreshErrors: number;
  /** Invalidations received from other replicas (C9). */
  remoteInvalidations: number;
  busErrors: number;
  /** Events lost by full subscriber queues (C12). */
  eventsDropped: number;
  l1Size: number;
  suppressedKeys: number;
}

/** A zeroed counter set. */
export function zeroStats(): CacheStats {
  return {
    l1Hits: 0,
    l1Misses: 0,
    l2Hits: 0,
    l2Misses: 0,
    l2Errors: 0,
    l2Retries: 0,
    l2Suppressed: 0,
    corrupt: 0,
    refills: 0,
    fills: 0,
    evictions: 0,
    expirations: 0,
    loads: 0,
    loadErrors: 0,
    staleServed: 0,
    refreshes: 0,
    refreshErrors: 0,
    remoteInvalidations: 0,
    busErrors: 0,
    eventsDropped: 0,
    l1Size: 0,
    suppressedKeys: 0,
  };
}
