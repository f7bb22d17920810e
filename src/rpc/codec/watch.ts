/** Watch: the request into services and resume versions, each change into a WatchResponse. */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import * as B from "../../../gen/fulcrum/v1/balancer_pb.js";
import * as T from "../../../gen/fulcrum/v1/types_pb.js";
import type { WatchMessage } from "../../watch/watch-message.js";
import type { EncodingCache } from "./encoding-cache.js";
import { enumValue } from "./primitives.js";
import { encodeConfig } from "./service-config.js";
import { encodeBackendStatus, encodeServiceStatus } from "./status.js";

/** WatchRequest -> services and resume versions. */
export function decodeWatch(req: B.WatchRequest): { services: string[]; resume: Map<string, number> } {
  return {
    services: req.services,
    resume: new Map(Object.entries(req.resumeVersions).map(([k, v]) => [k, Number(v)])),
  };
}

type WatchEvent = MessageInitShape<typeof B.WatchResponseSchema>["event"];

function encodeEvent(e: WatchMessage["event"]): WatchEvent {
  switch (e.kind) {
    case "snapshot":
      return { case: "snapshot", value: encodeServiceStatus(e.status) };
    case "reset":
      return { case: "reset", value: { reason: e.reason } };
    case "heartbeat":
      return { case: "heartbeat", value: {} };
    case "backend_added":
      return { case: "backendAdded", value: encodeBackendStatus(e.backend) };
    case "backend_updated":
      return { case: "backendUpdated", value: encodeBackendStatus(e.backend) };
    case "backend_removed":
      return { case: "backendRemoved", value: { backendId: e.backendId, reason: e.reason } };
    case "health_changed":
      return {
        case: "healthChanged",
        value: {
          backendId: e.backendId,
          previous: enumValue(T.HealthState, e.previous),
          current: enumValue(T.HealthState, e.current),
          reason: e.reason,
        },
      };
    case "config_changed":
      return { case: "configChanged", value: encodeConfig(e.config) };
    case "service_removed":
      return { case: "serviceRemoved", value: {} };
    case "headroom_crossed":
      return {
        case: "headroomCrossed",
        value: {
          backendId: e.backendId,
          dimension: e.dimension,
          remainingRatio: e.remainingRatio,
          threshold: e.threshold,
          below: e.below,
        },
      };
  }
}

function encodeWatchMessageOnce(m: WatchMessage): B.WatchResponse {
  return create(B.WatchResponseSchema, {
    service: m.service,
    version: BigInt(m.version),
    event: encodeEvent(m.event),
  });
}

/**
 * A watch message -> WatchResponse. One change fans out to every watcher as the same object,
 * so it is encoded once (and, on the gRPC port, serialized once) through `cache`.
 */
export function encodeWatchMessage(m: WatchMessage, cache: EncodingCache): B.WatchResponse {
  return cache.message(m, encodeWatchMessageOnce);
}
