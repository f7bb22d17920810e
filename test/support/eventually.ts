/**
 * Waits for a condition a real server reaches asynchronously (a pub/sub message, a background
 * drain): polls `probe` until it resolves with something other than undefined, for at most
 * `ms`. A bound on waiting, not an assertion about speed.
 */
export async function eventually<T>(probe: () => Promise<T | undefined>, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until the synchronous `condition` holds, polling like `eventually`, for at most `ms`. */
export async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  await eventually(async () => (condition() ? true : undefined), ms);
}
