/**
 * A FulcrumError as google.rpc details (BadRequest, ErrorInfo, RetryInfo) and as a
 * google.rpc.Status: the same details on both ports (grpc-status-details-bin on gRPC,
 * Connect's error details on the web port, in-band on streams).
 */
import { create, createRegistry, type DescMessage, type Message, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  RetryInfoSchema,
} from "../../../gen/google/rpc/error_details_pb.js";
import { type Status, StatusSchema } from "../../../gen/google/rpc/status_pb.js";
import type { FulcrumError } from "../../shared/errors.js";
import { fromMs } from "./primitives.js";

/**
 * The detail types our errors pack into google.protobuf.Any: JSON answers need them to write
 * an Any (SelectStream's in-band errors over Connect JSON were INTERNAL without it).
 */
export const ERROR_DETAIL_TYPES = createRegistry(BadRequestSchema, ErrorInfoSchema, RetryInfoSchema);

export type { Status } from "../../../gen/google/rpc/status_pb.js";

/** ErrorInfo.domain of every error Fulcrum raises. */
const ERROR_DOMAIN = "fulcrum.v1";

/** One google.rpc error detail: its schema and value (Connect's outgoing detail shape). */
export type ErrorDetailMessage = { desc: DescMessage; value: Message };

/** BadRequest, ErrorInfo and RetryInfo details of a FulcrumError, as its detail says. */
export function encodeErrorDetails(error: FulcrumError): ErrorDetailMessage[] {
  const { violations, reason, retryAfterMs } = error.detail;
  const details: ErrorDetailMessage[] = [];
  if (violations?.length)
    details.push({
      desc: BadRequestSchema,
      value: create(BadRequestSchema, { fieldViolations: [...violations] }),
    });
  if (reason)
    details.push({ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain: ERROR_DOMAIN }) });
  if (retryAfterMs !== undefined)
    details.push({
      desc: RetryInfoSchema,
      value: create(RetryInfoSchema, { retryDelay: fromMs(retryAfterMs) }),
    });
  return details;
}

/** The google.rpc.Status of a FulcrumError (grpc-status-details-bin, and stream errors). */
export function encodeErrorStatus(error: FulcrumError, grpcCode: number): Status {
  const details = encodeErrorDetails(error).map(({ desc, value }) => anyPack(desc, value));
  return create(StatusSchema, { code: grpcCode, message: error.message, details });
}

/** Status -> the bytes of the grpc-status-details-bin trailer. */
export function statusToBinary(status: Status): Uint8Array {
  return toBinary(StatusSchema, status);
}
