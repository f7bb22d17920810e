/** Helpers shared by the I/O probes of this folder. */
import { type ProbeOutcome, probeFailed } from "../../health/probe.js";

/** `host:port`, with an IPv6 literal in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The outcome of a probe cut short by its AbortSignal (the scheduler has already reported). */
export function abortedOutcome(): ProbeOutcome {
  return probeFailed("aborted");
}

/** A one-line description of an I/O error: its code when it has one, and its message. */
export function errorDetail(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${code} ${error.message}` : error.message;
}
