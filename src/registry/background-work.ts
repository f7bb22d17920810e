/** Work nobody waits for (drain completion, lease expiry, resyncs): tracked so tests and shutdown can wait, failures reported. */
export class BackgroundWork {
  private readonly pending = new Set<Promise<unknown>>();

  /** @param onError told what failed and why; background work never rejects to anyone. */
  constructor(private readonly onError: (message: string, cause: unknown) => void) {}

  /** Runs `work` in the background; `what` names it in the failure report. */
  run(what: string, work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => this.onError(what, error));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  /** Resolves once the work started so far, and the work it started, has finished. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
