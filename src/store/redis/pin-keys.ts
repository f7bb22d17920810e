/**
 * Key layout of the Redis PinStore (behaviour.md P4, P6, P7, C13). Everything of one
 * service's sessions shares the hash tag `{p:<service>}`, so it lives in one cluster slot
 * and one Lua script can check a backend's pin count and set a pin atomically. The tag
 * differs from the registry's `{s:<service>}`, so pin traffic and registry traffic of a
 * service may land on different cluster nodes. Service names cannot contain braces
 * (registry/resolve-backends.ts), so the tag is always the whole name.
 *
 * | key                                  | type   | holds                                        |
 * |--------------------------------------|--------|----------------------------------------------|
 * | `<prefix>:{p:<service>}:s:<session>` | string | the pinned backend id; PEXPIRE = idle TTL     |
 * | `<prefix>:{p:<service>}:b:<backend>` | zset   | session ids pinned to the backend, scored by  |
 * |                                      |        | their pin's expiry (ms, Redis TIME)           |
 * | `<prefix>:{p:<service>}:backends`    | set    | backend ids that may have a pin zset          |
 *
 * A backend's count is the zset's members with a score at or after now; the scripts trim
 * the rest (ZREMRANGEBYSCORE) before they count, and a pin's score moves with every
 * refresh of its key's TTL, so an expired pin is never counted even though Redis expires
 * the string key on its own. The zsets and the index set carry a TTL at least as long as
 * their newest pin, so an idle service leaves nothing behind.
 */

/** The pin keys of one service under `prefix`. */
export interface PinKeys {
  /** The string key holding `sessionId`'s pin. */
  session(sessionId: string): string;
  /** The zset of `backendId`'s pins. */
  backend(backendId: string): string;
  /** What `backend(id)` puts before the id (the scripts build backend keys from it). */
  readonly backendPrefix: string;
  /** The set of backend ids with a pin zset. */
  readonly index: string;
}

/** The pin keys of `service` under `prefix` (e.g. "fulcrum"); see the file header. */
export function pinKeys(prefix: string, service: string): PinKeys {
  const tag = `${prefix}:{p:${service}}`;
  const backendPrefix = `${tag}:b:`;
  return {
    session: (sessionId) => `${tag}:s:${sessionId}`,
    backend: (backendId) => backendPrefix + backendId,
    backendPrefix,
    index: `${tag}:backends`,
  };
}
