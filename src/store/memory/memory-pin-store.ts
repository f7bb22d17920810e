/**
 * The PinStore in process memory: the embedded (single-replica) default and the reference
 * the PinStore contract suite runs against (test/unit/sessions/pin-store-contract.ts).
 *
 * Per service: a Map session → pin kept in touch order (a pin or touch re-inserts at the
 * end), and a Map backend → live pin count. With one idle TTL per service the touch order
 * is the expiry order, so expiring is a sweep from the front that stops at the first live
 * pin: O(expired). A TTL change or a clock step backwards breaks the order; the table
 * notices (the new expiry is below the tail's) and re-sorts once before its next sweep.
 * Every write sweeps its service first, so counts never include an expired pin; reads
 * check expiry lazily; an optional timer on the injected Clock sweeps idle services.
 *
 * Bounded: at most `maxSessions` pins in all; a pin past that (after sweeping every
 * service) fails with RESOURCE_EXHAUSTED naming the limit. Ended and expired pins leave
 * nothing behind: a service with no pins is dropped.
 */
import {
  assertPinArguments,
  type PinResult,
  type PinStore,
  type SessionPin,
} from "../../sessions/pin-store.js";
import { type Clock, every, systemClock } from "../../shared/clock.js";
import { FulcrumError } from "../../shared/errors.js";

/** Options of a MemoryPinStore. */
export interface MemoryPinStoreOptions {
  readonly clock: Clock;
  /** The most pinned sessions held at once, over all services. Integer >= 1. */
  readonly maxSessions: number;
  /** Interval of the expiry sweep over every service, on the clock; 0 = on access only. */
  readonly sweepIntervalMs: number;
}

/** Default bound of a MemoryPinStore, in sessions. */
export const DEFAULT_MEMORY_PIN_MAX_SESSIONS = 1_000_000;
/** Default expiry sweep interval of a MemoryPinStore. */
export const DEFAULT_MEMORY_PIN_SWEEP_INTERVAL_MS = 30_000;

interface PinEntry {
  readonly backendId: string;
  expiresAt: number;
  /** False once releaseBackend forgot the backend's count; a touch counts it again. */
  counted: boolean;
}

interface ServiceTable {
  /** Session → pin, in touch order (expiry order while `ordered`). */
  pins: Map<string, PinEntry>;
  readonly counts: Map<string, number>;
  ordered: boolean;
  tailExpiresAt: number;
}

/** What countByBackend answers for a service without pins. */
const EMPTY_COUNTS: ReadonlyMap<string, number> = new Map();

/** A PinStore in Maps; see the file header. */
export class MemoryPinStore implements PinStore {
  private readonly clock: Clock;
  private readonly maxSessions: number;
  private readonly services = new Map<string, ServiceTable>();
  private total = 0;
  private readonly stopSweep: (() => void) | undefined;

  constructor(options: Partial<MemoryPinStoreOptions> = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxSessions = options.maxSessions ?? DEFAULT_MEMORY_PIN_MAX_SESSIONS;
    if (!Number.isInteger(this.maxSessions) || this.maxSessions < 1) {
      throw new RangeError(`memoryPinStore.maxSessions: must be an integer >= 1, got ${this.maxSessions}`);
    }
    const interval = options.sweepIntervalMs ?? DEFAULT_MEMORY_PIN_SWEEP_INTERVAL_MS;
    if (!Number.isInteger(interval) || interval < 0) {
      throw new RangeError(`memoryPinStore.sweepIntervalMs: must be an integer >= 0, got ${interval}`);
    }
    this.stopSweep = interval > 0 ? every(this.clock, interval, () => this.sweep()) : undefined;
  }

  /** Pinned sessions held over all services, expired ones not yet swept included. */
  get size(): number {
    return this.total;
  }

  /** Services with at least one pin held. */
  get serviceCount(): number {
    return this.services.size;
  }

  async get(service: string, sessionId: string): Promise<SessionPin | undefined> {
    const entry = this.live(service, sessionId);
    return entry && { backendId: entry.backendId };
  }

  async pin(
    service: string,
    sessionId: string,
    backendId: string,
    idleTtlMs: number,
    maxPinsPerBackend: number,
    replacing?: string,
  ): Promise<PinResult> {
    assertPinArguments(idleTtlMs, maxPinsPerBackend);
    const table = this.swept(service);
    const current = table?.pins.get(sessionId);
    if (table && current && (current.backendId === backendId || current.backendId !== replacing)) {
      this.refresh(table, sessionId, current, idleTtlMs);
      return { kind: "existing", backendId: current.backendId };
    }
    const held = table?.counts.get(backendId) ?? 0;
    if (held >= maxPinsPerBackend) return { kind: "capacity", backendId, limit: maxPinsPerBackend };
    if (!current) this.reserveSlot();
    const target = table ?? this.createTable(service);
    if (current) this.remove(target, sessionId, current);
    const entry: PinEntry = { backendId, expiresAt: 0, counted: true };
    this.total++;
    target.counts.set(backendId, held + 1);
    this.refresh(target, sessionId, entry, idleTtlMs);
    return { kind: "pinned", backendId, previousBackendId: current?.backendId };
  }

  async touch(service: string, sessionId: string, idleTtlMs: number): Promise<SessionPin | undefined> {
    assertPinArguments(idleTtlMs);
    const entry = this.live(service, sessionId);
    const table = this.services.get(service);
    if (!entry || !table) return undefined;
    if (!entry.counted) {
      entry.counted = true;
      table.counts.set(entry.backendId, (table.counts.get(entry.backendId) ?? 0) + 1);
    }
    this.refresh(table, sessionId, entry, idleTtlMs);
    return { backendId: entry.backendId };
  }

  async end(service: string, sessionId: string): Promise<string | undefined> {
    const entry = this.live(service, sessionId);
    const table = this.services.get(service);
    if (!entry || !table) return undefined;
    this.remove(table, sessionId, entry);
    this.dropIfEmpty(service, table);
    return entry.backendId;
  }

  /** The live counts, read-only (no copy: a new pin asks once, and `pin` re-checks capacity itself). */
  async countByBackend(service: string): Promise<ReadonlyMap<string, number>> {
    return this.swept(service)?.counts ?? EMPTY_COUNTS;
  }

  async releaseBackend(service: string, backendId: string): Promise<number> {
    const table = this.swept(service);
    if (!table) return 0;
    const held = table.counts.get(backendId) ?? 0;
    if (held === 0) return 0;
    for (const entry of table.pins.values()) if (entry.backendId === backendId) entry.counted = false;
    table.counts.delete(backendId);
    return held;
  }

  /** Expires due pins of every service now; returns how many went. */
  sweep(): number {
    let expired = 0;
    for (const [service, table] of this.services) expired += this.expireDue(service, table);
    return expired;
  }

  /** Stops the sweep timer. */
  close(): void {
    this.stopSweep?.();
  }

  /** The service's table after expiring its due pins; undefined when it holds none. */
  private swept(service: string): ServiceTable | undefined {
    const table = this.services.get(service);
    if (table) this.expireDue(service, table);
    return this.services.get(service);
  }

  private live(service: string, sessionId: string): PinEntry | undefined {
    const table = this.services.get(service);
    const entry = table?.pins.get(sessionId);
    if (!table || !entry) return undefined;
    if (this.clock.now() < entry.expiresAt) return entry;
    this.remove(table, sessionId, entry);
    this.dropIfEmpty(service, table);
    return undefined;
  }

  private refresh(table: ServiceTable, sessionId: string, entry: PinEntry, idleTtlMs: number): void {
    entry.expiresAt = this.clock.now() + idleTtlMs;
    table.pins.delete(sessionId);
    table.pins.set(sessionId, entry);
    if (entry.expiresAt < table.tailExpiresAt) table.ordered = false;
    table.tailExpiresAt = entry.expiresAt;
  }

  private remove(table: ServiceTable, sessionId: string, entry: PinEntry): void {
    table.pins.delete(sessionId);
    this.total--;
    if (!entry.counted) return;
    const left = (table.counts.get(entry.backendId) ?? 1) - 1;
    if (left > 0) table.counts.set(entry.backendId, left);
    else table.counts.delete(entry.backendId);
  }

  /** Removes the expired pins of one service; O(expired) while ordered. */
  private expireDue(service: string, table: ServiceTable): number {
    if (!table.ordered) this.reorder(table);
    const now = this.clock.now();
    let expired = 0;
    for (const [sessionId, entry] of table.pins) {
      if (now < entry.expiresAt) break;
      this.remove(table, sessionId, entry);
      expired++;
    }
    this.dropIfEmpty(service, table);
    return expired;
  }

  private reorder(table: ServiceTable): void {
    const sorted = [...table.pins].sort((a, b) => a[1].expiresAt - b[1].expiresAt);
    table.pins = new Map(sorted);
    table.ordered = true;
    table.tailExpiresAt = sorted.at(-1)?.[1].expiresAt ?? 0;
  }

  private reserveSlot(): void {
    if (this.total < this.maxSessions) return;
    this.sweep();
    if (this.total < this.maxSessions) return;
    throw new FulcrumError(
      "resource_exhausted",
      `pinned sessions: at the limit of ${this.maxSessions} (memoryPinStore.maxSessions); end sessions or raise the limit`,
    );
  }

  private createTable(service: string): ServiceTable {
    const table: ServiceTable = { pins: new Map(), counts: new Map(), ordered: true, tailExpiresAt: 0 };
    this.services.set(service, table);
    return table;
  }

  private dropIfEmpty(service: string, table: ServiceTable): void {
    if (table.pins.size === 0 && this.services.get(service) === table) this.services.delete(service);
  }
}
