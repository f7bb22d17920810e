/** Select and EndSession: requests into the core's query, selections into SelectResponse. */
import { create } from "@bufbuild/protobuf";
import * as B from "../../../gen/fulcrum/v1/balancer_pb.js";
import * as T from "../../../gen/fulcrum/v1/types_pb.js";
import type { Explanation } from "../../balancer/explanation.js";
import { type SelectQuery, selectQueryOf } from "../../balancer/select-query.js";
import type * as M from "../../model/specs.js";
import type { SelectExtras } from "../../sessions/session-router.js";
import type { FieldViolation } from "../../shared/errors.js";
import type { EncodingCache } from "./encoding-cache.js";
import type { Status } from "./error-details.js";
import { enumValue, throwIfBad } from "./primitives.js";

/** SelectRequest -> query. Protocol-level only; defaults and limits are the core's. */
export function decodeSelect(req: B.SelectRequest): SelectQuery {
  return selectQueryOf({
    hashKey: req.hashKey,
    exclude: req.exclude,
    zone: req.zone,
    labels: req.labels,
    count: req.count,
    explain: req.explain,
  });
}

/** Session, resource and cost fields of a Select; cost values must be finite and >= 0. */
export function decodeSelectExtras(req: B.SelectRequest): SelectExtras {
  const bad: FieldViolation[] = [];
  for (const [dimension, units] of Object.entries(req.cost)) {
    if (!Number.isFinite(units) || units < 0)
      bad.push({ field: `cost[${dimension}]`, description: `must be a finite number >= 0, got ${units}` });
  }
  throwIfBad(bad);
  return { sessionId: req.sessionId, command: req.command, resourceKey: req.resourceKey, cost: req.cost };
}

/** A SelectStream request's Select; an absent one is an empty request (the core then names the field). */
export function selectOfStreamRequest(request: B.SelectStreamRequest): B.SelectRequest {
  return request.select ?? create(B.SelectRequestSchema);
}

/** One SelectStream answer: the response, or the error status of that one request. */
export function encodeSelectStreamResponse(
  requestId: bigint,
  result: { response: B.SelectResponse } | { error: Status },
): B.SelectStreamResponse {
  return create(B.SelectStreamResponseSchema, {
    requestId,
    result:
      "response" in result
        ? { case: "response", value: result.response }
        : { case: "error", value: result.error },
  });
}

function encodeExplanation(e: Explanation): B.Explanation {
  return create(B.ExplanationSchema, {
    strategy: e.strategy,
    filters: [...e.filters],
    candidates: [...e.candidates],
    reason: e.reason,
  });
}

function selectedBackendOf(spec: M.BackendSpec): B.SelectedBackend {
  return create(B.SelectedBackendSchema, {
    id: spec.id,
    address: spec.address,
    zone: spec.zone,
    labels: spec.labels,
  });
}

/** What the core decided for one Select. */
export interface SelectionView {
  readonly backends: readonly { readonly spec: M.BackendSpec }[];
  readonly ticket: string;
  readonly degraded: boolean;
  readonly version: number;
  readonly explanation: Explanation | undefined;
  /** True for an Unhealthy backend's automatic probe selection (H2, O10). */
  readonly probe?: boolean | undefined;
}

/** A selection -> SelectResponse; each backend's message is built once per registration via `cache`. */
export function encodeSelection(
  s: SelectionView,
  sessionMode: "per_command" | "stateful" | undefined,
  cache: EncodingCache,
): B.SelectResponse {
  // A literal message (all fields set) instead of create(): this runs once per Select.
  return {
    $typeName: "fulcrum.v1.SelectResponse",
    backends: s.backends.map(({ spec }) => cache.message(spec, selectedBackendOf)),
    ticket: s.ticket,
    sessionMode: sessionMode ? enumValue(T.SessionMode, sessionMode) : T.SessionMode.UNSPECIFIED,
    degraded: s.degraded,
    explanation: s.explanation && encodeExplanation(s.explanation),
    version: BigInt(s.version),
    probe: s.probe === true,
  };
}

/** EndSessionRequest -> service and session; both required. */
export function decodeEndSession(req: B.EndSessionRequest): { service: string; sessionId: string } {
  const bad: FieldViolation[] = [];
  if (!req.service) bad.push({ field: "service", description: "must not be empty" });
  if (!req.sessionId) bad.push({ field: "session_id", description: "must not be empty" });
  throwIfBad(bad);
  return { service: req.service, sessionId: req.sessionId };
}

/** EndSession's answer: the backend released, if the session held a pin. */
export function encodeEndSessionResponse(backendId: string | undefined): B.EndSessionResponse {
  return create(B.EndSessionResponseSchema, {
    released: backendId !== undefined,
    backendId: backendId ?? "",
  });
}
