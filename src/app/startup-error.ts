/**
 * A reason the server cannot start that the operator can fix: the message is one line naming
 * the cause and the setting (behaviour.md O7), printed without a stack trace.
 */
export class StartupError extends Error {
  override readonly name = "StartupError";
}

/** Why binding `host:port` failed, in words: in use, not an address of this machine, no permission. */
export function listenFailure(error: unknown): string {
  const text = String((error as Error)?.message ?? error);
  const code = (error as NodeJS.ErrnoException)?.code ?? /\b(E[A-Z]{4,})\b/.exec(text)?.[1];
  if (code === "EADDRINUSE") return "is already in use";
  if (code === "EADDRNOTAVAIL") return "is not an address of this machine";
  if (code === "EACCES") return "needs privileges to bind";
  return `cannot be bound (${text.split("\n")[0]})`;
}
