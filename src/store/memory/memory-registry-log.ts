import type {
  AppendedEntry,
  LeaseRenewal,
  LogEntry,
  RegistryLog,
  RegistryLogListener,
  StoredService,
} from "../../registry/registry-log.js";

interface Record {
  stored: StoredService | undefined;
  version: number;
}

/**
 * The embedded RegistryLog: one process, no persistence. Several registries may share one
 * instance (tests of multi-replica behaviour without Redis); each hears the others' entries
 * asynchronously, as it would over Redis pub/sub.
 */
export class MemoryRegistryLog implements RegistryLog {
  private readonly records = new Map<string, Record>();
  private readonly listeners = new Set<RegistryLogListener>();

  async append(entry: LogEntry): Promise<{ ok: true; firstVersion: number } | { ok: false }> {
    const current = this.records.get(entry.service)?.version ?? 0;
    if (current !== entry.baseVersion) return { ok: false };
    const appended: AppendedEntry = { ...entry, firstVersion: current + 1 };
    this.records.set(entry.service, { stored: entry.next, version: current + entry.changes.length });
    for (const listener of this.listeners) queueMicrotask(() => listener.appended(appended));
    return { ok: true, firstVersion: appended.firstVersion };
  }

  async load(service: string): Promise<{ stored: StoredService | undefined; version: number }> {
    const record = this.records.get(service);
    return { stored: record?.stored, version: record?.version ?? 0 };
  }

  async loadAll(): Promise<{ stored: StoredService; version: number }[]> {
    return [...this.records.values()].flatMap(({ stored, version }) => (stored ? [{ stored, version }] : []));
  }

  async restore(service: string, stored: StoredService | undefined, version: number): Promise<boolean> {
    if (this.records.has(service)) return false;
    this.records.set(service, { stored, version });
    return true;
  }

  async renew(renewal: LeaseRenewal): Promise<void> {
    for (const listener of this.listeners) queueMicrotask(() => listener.renewed(renewal));
  }

  async subscribe(listener: RegistryLogListener): Promise<() => void> {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
