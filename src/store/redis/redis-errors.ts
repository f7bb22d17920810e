/**
 * Maps what ioredis throws to the cache's one error type, L2Error, with a kind the failure
 * modes act on (behaviour.md C5: only `connection` and `unknown` are retried).
 *
 * - `connection`: the server can't be reached or the link dropped: socket errors (ECONNREFUSED,
 *   ECONNRESET, EPIPE, ...), "Connection is closed.", "Stream isn't writeable ..." (the client is
 *   not connected and has no offline queue, redis-client.ts), MaxRetriesPerRequestError,
 *   ClusterAllFailedError, "Cluster isn't ready ...", "None of startup nodes is available",
 *   and the replies of a server that is there but can't serve yet (LOADING, CLUSTERDOWN,
 *   TRYAGAIN, MASTERDOWN).
 * - `timeout`: "Command timed out" (the client's commandTimeout). The command may have run.
 * - `command`: any other error reply (ReplyError: WRONGTYPE, a script error, ...).
 * - `unknown`: anything else.
 */
import { L2Error, type L2ErrorKind } from "../../cache/ports.js";

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTCONN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ENOTFOUND",
]);

const CONNECTION_NAMES = new Set(["MaxRetriesPerRequestError", "ClusterAllFailedError", "AbortError"]);

const CONNECTION_MESSAGES = [
  "Connection is closed",
  "Stream isn't writeable",
  "Cluster isn't ready",
  "Cluster is disconnect",
  "None of startup nodes is available",
  "Node is disconnected",
  "Failed to refresh slots cache",
  "Too many Cluster redirections",
  "Socket timeout",
  "connect ETIMEDOUT",
];

/** Error replies that mean "not now" rather than "never": the server is there but can't serve. */
const TRANSIENT_REPLIES = ["LOADING", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN"];

/** The L2ErrorKind of anything ioredis (or the socket under it) threw. */
export function redisErrorKind(error: unknown): L2ErrorKind {
  if (error instanceof L2Error) return error.kind;
  if (!(error instanceof Error)) return "unknown";
  const { name, message } = error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && CONNECTION_CODES.has(code)) return "connection";
  if (CONNECTION_NAMES.has(name)) return "connection";
  if (message === "Command timed out") return "timeout";
  if (name === "ReplyError") {
    return TRANSIENT_REPLIES.some((prefix) => message.startsWith(prefix)) ? "connection" : "command";
  }
  if (CONNECTION_MESSAGES.some((text) => message.includes(text))) return "connection";
  return "unknown";
}

/**
 * `error` as an L2Error whose message says what failed, e.g.
 * `redis GET fulcrum:health:{b:a}:state failed (connection): Connection is closed.`;
 * the original error is the cause. An L2Error passes through unchanged.
 */
export function toRedisL2Error(error: unknown, what: string): L2Error {
  if (error instanceof L2Error) return error;
  const kind = redisErrorKind(error);
  const detail = error instanceof Error ? error.message : String(error);
  return new L2Error(kind, `redis ${what} failed (${kind}): ${detail}`, { cause: error });
}
