/**
 * The codec: proto <-> domain, both ways, one file per message family. Service
 * implementations and servers use it to turn requests into the core's terms and answers back;
 * they never build domain values from generated types themselves. Protocol-level checks
 * (enum numbers, durations, oneof cases) happen here; defaults and range checks are the core's.
 */
export { BalancerService } from "../../../gen/fulcrum/v1/balancer_pb.js";
export { RegistryService } from "../../../gen/fulcrum/v1/registry_pb.js";
export { EncodingCache } from "./encoding-cache.js";
export {
  type ErrorDetailMessage,
  encodeErrorDetails,
  encodeErrorStatus,
  type Status,
  statusToBinary,
} from "./error-details.js";
export {
  decodeDeregister,
  decodeRegister,
  decodeSetHealth,
  encodeDeregisterResponse,
  encodeHeartbeatResponse,
  encodeRegisterResponse,
  encodeSetHealthResponse,
} from "./register.js";
export {
  decodeOutcomes,
  encodeReportResponse,
  encodeStreamReportsResponse,
  type ReportTotals,
} from "./report.js";
export {
  decodeEndSession,
  decodeSelect,
  decodeSelectExtras,
  encodeEndSessionResponse,
  encodeSelection,
  encodeSelectStreamResponse,
  selectOfStreamRequest,
} from "./select.js";
export { encodeSelectResponseFast, encodeSelectStreamResponseFast } from "./select-wire.js";
export { encodeConfig } from "./service-config.js";
export {
  encodeGetServiceResponse,
  encodeHealthState,
  encodeServiceList,
  encodeServiceStatus,
} from "./status.js";
export { strictJsonOptions } from "./strict-json.js";
export { decodeWatch, encodeWatchMessage } from "./watch.js";
export { messageDecoder, messageEncoder, responseEncoder } from "./wire.js";
