/**
 * Keys whose L2 copy can't be trusted (behaviour.md C6).
 *
 * When a best-effort L2 delete fails (or an L2 write fails while L1 took the new value), the
 * L2 may still hold an older value; reading it back would undo the delete or the write. The
 * key is suppressed: reads skip L2 for it until a later L2 write or delete of that key
 * succeeds. Memory is bounded: past `maxKeys` suppressed keys the whole namespace is
 * suppressed (every L2 read skipped, the safe direction) until `clear()`, which an operator
 * calls once the L2 is known good again.
 */

/** Default bound on individually tracked suppressed keys. */
export const DEFAULT_MAX_SUPPRESSED_KEYS = 10_000;

/** The suppressed keys of one cache instance. */
export class L2Suppression {
  private readonly keys = new Set<string>();
  private all = false;

  constructor(private readonly maxKeys: number = DEFAULT_MAX_SUPPRESSED_KEYS) {}

  /** Keys suppressed one by one. */
  get size(): number {
    return this.keys.size;
  }

  /** True once the bound was passed: every key is suppressed until `clear()`. */
  get overflowed(): boolean {
    return this.all;
  }

  /** Stops L2 reads of `key`. */
  suppress(key: string): void {
    if (this.all || this.keys.has(key)) return;
    if (this.keys.size >= this.maxKeys) {
      this.all = true;
      this.keys.clear();
      return;
    }
    this.keys.add(key);
  }

  /** A later L2 write or delete of `key` succeeded: its L2 copy is current again. */
  lift(key: string): void {
    if (this.keys.size > 0) this.keys.delete(key);
  }

  /** True when reads of `key` must skip L2. */
  isSuppressed(key: string): boolean {
    return this.all || (this.keys.size > 0 && this.keys.has(key));
  }

  /** Forgets every suppression, including the namespace-wide one. */
  clear(): void {
    this.keys.clear();
    this.all = false;
  }
}
