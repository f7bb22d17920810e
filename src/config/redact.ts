/**
 * Secrets inside connection strings never reach a log line or an error (behaviour.md A4):
 * every place that shows a Redis URL shows it through here.
 */

/** Placeholder written where a password was. */
export const REDACTED = "***";

/**
 * The URL with its password (and, for `scheme://secret@host`, the lone user-info part that
 * Redis reads as a password) replaced by `***`; the user name, host and port stay readable.
 * Every query parameter's value is replaced too (ioredis reads a password from `?password=`).
 * A string that does not parse as a URL loses everything between `//` and the last `@`, and
 * everything after a `?`.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.replace(/\/\/.*@/, `//${REDACTED}@`).replace(/\?.*$/, `?${REDACTED}`);
  }
  if (parsed.password) parsed.password = REDACTED;
  else if (parsed.username) parsed.username = REDACTED;
  // ioredis also reads `?password=` (and a user name) from the query: no query value is shown.
  for (const key of [...parsed.searchParams.keys()]) parsed.searchParams.set(key, REDACTED);
  return parsed.toString().replace(/\/$/, "");
}
