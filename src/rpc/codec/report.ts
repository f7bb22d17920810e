/** Report and StreamReports: outcomes into the core's terms, tallies back. */
import { create } from "@bufbuild/protobuf";
import * as B from "../../../gen/fulcrum/v1/balancer_pb.js";
import * as T from "../../../gen/fulcrum/v1/types_pb.js";
import type { CallResult, Outcome } from "../../balancer/outcome.js";
import type { FieldViolation } from "../../shared/errors.js";
import type { Status } from "./error-details.js";
import { enumName, throwIfBad, toMs } from "./primitives.js";

/** Outcomes -> domain; enum and duration problems are named with the outcome's index. */
export function decodeOutcomes(outcomes: readonly B.Outcome[]): Outcome[] {
  const bad: FieldViolation[] = [];
  const decoded = outcomes.map((o, i) => ({
    ticket: o.ticket,
    service: o.service,
    backendId: o.backendId,
    result: enumName(T.CallResultSchema, o.result, `outcomes[${i}].result`, bad) as CallResult | undefined,
    latencyMs: toMs(o.latency, `outcomes[${i}].latency`, bad) ?? 0,
    usage: o.usage,
    retryAfterMs: toMs(o.retryAfter, `outcomes[${i}].retry_after`, bad) ?? 0,
    resourceKey: o.resourceKey,
    remaining: o.remaining,
  }));
  throwIfBad(bad);
  return decoded;
}

/** Report's answer. */
export function encodeReportResponse(result: { applied: number; ignored: number }): B.ReportResponse {
  return create(B.ReportResponseSchema, result);
}

/** What one StreamReports call did, with the first few rejections as statuses. */
export interface ReportTotals {
  readonly applied: number;
  readonly ignored: number;
  readonly rejected: number;
  readonly errors: readonly Status[];
}

/** StreamReports' answer. */
export function encodeStreamReportsResponse(totals: ReportTotals): B.StreamReportsResponse {
  return create(B.StreamReportsResponseSchema, { ...totals, errors: [...totals.errors] });
}
