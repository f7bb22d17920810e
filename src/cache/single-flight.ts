/**
 * Single-flight per key (behaviour.md C7), after Go's `singleflight`: while a fetch for a key
 * runs, every other caller for that key gets the same promise (one loader call, one result or
 * one error for all). A flight can be `superseded` (the key was written, deleted or
 * invalidated meanwhile): its result still reaches its waiters, but the owner must not cache
 * it, so an older value never overwrites a newer write.
 */

/** The state of one running flight, handed to its work function. */
export interface Flight {
  /** Set when the key changed after the flight started; its result must not be cached. */
  readonly superseded: boolean;
}

class RunningFlight<T> implements Flight {
  superseded = false;
  promise!: Promise<T>;
}

/** Deduplicates concurrent work per key. */
export class SingleFlight<K, T> {
  private readonly flights = new Map<K, RunningFlight<T>>();

  /** Flights running now. */
  get size(): number {
    return this.flights.size;
  }

  /** True while a flight for `key` runs. */
  has(key: K): boolean {
    return this.flights.has(key);
  }

  /** Joins the flight for `key`, or starts one running `work`. */
  run(key: K, work: (flight: Flight) => Promise<T>): Promise<T> {
    const running = this.flights.get(key);
    if (running) return running.promise;
    const flight = new RunningFlight<T>();
    this.flights.set(key, flight);
    flight.promise = (async () => {
      try {
        return await work(flight);
      } finally {
        if (this.flights.get(key) === flight) this.flights.delete(key);
      }
    })();
    return flight.promise;
  }

  /** Marks the running flight for `key` (if any) as superseded and lets the next caller start a new one. */
  supersede(key: K): void {
    const running = this.flights.get(key);
    if (!running) return;
    running.superseded = true;
    this.flights.delete(key);
  }

  /** Supersedes every running flight. */
  supersedeAll(): void {
    for (const flight of this.flights.values()) flight.superseded = true;
    this.flights.clear();
  }
}
