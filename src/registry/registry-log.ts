import type { MemberBackend } from "../model/membership.js";
import type { ServiceConfig } from "../model/specs.js";
import type { ServiceChange } from "./events.js";

/** A backend as every replica shares it: the registration and the state that must agree everywhere. */
export type StoredBackend = MemberBackend;

/** A service as every replica shares it. */
export interface StoredService {
  readonly name: string;
  readonly config: ServiceConfig;
  readonly backends: readonly StoredBackend[];
}

/** One accepted change of one service: what changed, and the service as it is afterwards. */
export interface LogEntry {
  readonly service: string;
  /** The service version the change was planned on. */
  readonly baseVersion: number;
  readonly changes: readonly ServiceChange[];
  /** The service after the change; undefined when it was removed. */
  readonly next: StoredService | undefined;
}

/** A LogEntry with the versions it was given: firstVersion .. firstVersion + changes.length - 1. */
export interface AppendedEntry extends LogEntry {
  readonly firstVersion: number;
}

/** Lease renewals one replica heard, for the others. */
export interface LeaseRenewal {
  readonly service: string;
  readonly expiries: Readonly<Record<string, number>>;
}

/** Receives what other replicas appended and renewed. */
export interface RegistryLogListener {
  appended(entry: AppendedEntry): void;
  renewed(renewal: LeaseRenewal): void;
  /** The log lost its connection and is back: local state may have missed entries. */
  reconnected(): void;
}

/**
 * Where registry changes become durable and shared (the replication point). Appends are
 * compare-and-set on the service version, so concurrent writers never lose an acknowledged
 * change: the loser reloads and plans again. Versions are per service and never reused,
 * even across removal and re-registration.
 */
export interface RegistryLog {
  /** Appends if the service is still at `baseVersion`; returns the first version given, or conflict. */
  append(
    entry: LogEntry,
  ): Promise<{ readonly ok: true; readonly firstVersion: number } | { readonly ok: false }>;
  /** The service and its version (for a removed service: undefined and the version of its removal). */
  load(service: string): Promise<{ readonly stored: StoredService | undefined; readonly version: number }>;
  /** Every live service with its version. */
  loadAll(): Promise<{ readonly stored: StoredService; readonly version: number }[]>;
  /**
   * Puts back a service the log has lost (a Redis that restarted empty), at the version this
   * replica holds (undefined `stored`: a removed service's version only, so versions are never
   * reused), unless the log already knows the service again. True when it was restored.
   */
  restore(service: string, stored: StoredService | undefined, version: number): Promise<boolean>;
  /** Tells the other replicas about renewed leases (best effort). */
  renew(renewal: LeaseRenewal): Promise<void>;
  /** Subscribes to other replicas' changes; resolves once subscribed, with the unsubscribe function. */
  subscribe(listener: RegistryLogListener): Promise<() => void>;
}

/**
 * What a failed append means for the change: `not_applied` when the log
 * certainly did not take it (it was never sent, or the log refused it as past its deadline),
 * `unknown` when it was sent and no answer came in time. A log refuses an append that reaches
 * it after `deadline`, so an unknown outcome is settled once the deadline has passed: reading
 * the service then tells whether it was applied.
 */
export class RegistryLogError extends Error {
  constructor(
    readonly outcome: "not_applied" | "unknown",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "RegistryLogError";
  }
}
