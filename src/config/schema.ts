import { z } from "zod";
import { DEFAULT_MAX_CONCURRENT_PROBES } from "../health/prober.js";
import {
  DEFAULT_MAX_ERROR_TEXT_BYTES,
  DEFAULT_MAX_ERROR_VIOLATIONS,
  DEFAULT_REGISTRY_LIMITS,
} from "../model/limits.js";
import { DEFAULT_ESTIMATE_MARGIN, MAX_MARGIN_SAMPLES } from "../quota/estimate-margin.js";
import {
  DEFAULT_RECONCILE_HOLD_MS,
  DEFAULT_UPSTREAM_LAG_MS,
  MAX_UPSTREAM_LAG_MS,
} from "../quota/quota-cost.js";
import { MAX_TIMER_MS } from "../shared/clock.js";
import { DEFAULT_WATCH_LIMITS } from "../watch/watch-hub.js";
import { stateSchema } from "./state-schema.js";

/** Services that get their own per-service metric series by default (metrics.maxServices). */
export const DEFAULT_METRICS_MAX_SERVICES = 100;

/** A gRPC connection without calls this long gets GOAWAY; clients reconnect transparently. */
const DEFAULT_GRPC_IDLE_TIMEOUT_MS = 120_000;
/**
 * The web port's connection timeouts: generous for real clients, short enough that idle or
 * slow sockets cannot pile up.
 */
const DEFAULT_WEB_PREFACE_TIMEOUT_MS = 10_000;
const DEFAULT_WEB_HEADERS_TIMEOUT_MS = 10_000;
const DEFAULT_WEB_IDLE_TIMEOUT_MS = 120_000;

const port = z.number().int().min(0).max(65_535);
const positiveInt = z.number().int().positive();
/** A duration in ms that ends in a timer: at most MAX_TIMER_MS, the longest Node honours. */
const timerMs = positiveInt.max(
  MAX_TIMER_MS,
  `must be at most ${MAX_TIMER_MS} ms (24.8 days), the longest timer Node runs`,
);

/**
 * Every setting of `fulcrum serve`, with defaults. Sources, later ones winning: these
 * defaults, the YAML file (--config), FULCRUM_* environment variables, command-line flags.
 */
export const configSchema = z.strictObject({
  grpc: z
    .strictObject({
      host: z.string().min(1).default("127.0.0.1"),
      port: port.default(4770),
      /** A connection without calls for this long gets GOAWAY and is closed; silent sockets too. */
      idleTimeoutMs: timerMs.default(DEFAULT_GRPC_IDLE_TIMEOUT_MS),
    })
    .prefault({}),
  web: z
    .strictObject({
      host: z.string().min(1).default("127.0.0.1"),
      port: port.default(4771),
      /** Origins browsers may call the web port from (CORS); `*` allows any; none by default. */
      corsOrigins: z.array(z.string().min(1)).default([]),
      /** Serve the live dashboard at `/` (behaviour.md O9); its data comes through the API. */
      dashboard: z.boolean().default(true),
      /** A new socket must send its first bytes within this. */
      prefaceTimeoutMs: timerMs.default(DEFAULT_WEB_PREFACE_TIMEOUT_MS),
      /** HTTP/1.1 request headers must be complete within this (slowloris). */
      headersTimeoutMs: timerMs.default(DEFAULT_WEB_HEADERS_TIMEOUT_MS),
      /** A connection with no traffic for this long is closed. */
      idleTimeoutMs: timerMs.default(DEFAULT_WEB_IDLE_TIMEOUT_MS),
    })
    .prefault({}),
  /** The xDS (ADS) server (X1-X3). */
  xds: z
    .strictObject({
      host: z.string().min(1).default("127.0.0.1"),
      port: port.default(4772),
      /** ADS streams open at once; past it a new stream ends with RESOURCE_EXHAUSTED. */
      maxStreams: positiveInt.default(10_000),
      /** Resource names one stream may subscribe to per type. */
      maxResourceNames: positiveInt.default(10_000),
      /** Responses held for a client that does not read; later changes wait and are sent whole. */
      maxQueuedResponses: positiveInt.default(64),
      /** Every service is re-read this often, for changes that are not evented (outlier ejection). */
      refreshMs: timerMs.default(1_000),
    })
    .prefault({}),
  limits: z
    .strictObject({
      maxServices: positiveInt.default(DEFAULT_REGISTRY_LIMITS.maxServices),
      maxBackendsPerService: positiveInt.default(DEFAULT_REGISTRY_LIMITS.maxBackendsPerService),
      maxNameLength: positiveInt.default(DEFAULT_REGISTRY_LIMITS.maxNameLength),
      maxLabelsPerBackend: positiveInt.default(DEFAULT_REGISTRY_LIMITS.maxLabelsPerBackend),
      maxLabelBytes: positiveInt.default(DEFAULT_REGISTRY_LIMITS.maxLabelBytes),
      maxQuotasPerBackend: positiveInt.default(DEFAULT_REGISTRY_LIMITS.maxQuotasPerBackend),
      maxSelectCount: positiveInt.default(DEFAULT_REGISTRY_LIMITS.maxSelectCount),
      maxExclude: positiveInt.default(DEFAULT_REGISTRY_LIMITS.maxExclude),
      maxReportBatch: positiveInt.default(1_000),
      maxMessageBytes: positiveInt.default(4 * 1024 * 1024),
      /** Field violations an error answer lists; the rest are counted (trailers stay small). */
      maxErrorViolations: positiveInt.default(DEFAULT_MAX_ERROR_VIOLATIONS),
      /** UTF-8 bytes of an error message and of each violation's field and description. */
      maxErrorTextBytes: positiveInt.default(DEFAULT_MAX_ERROR_TEXT_BYTES),
    })
    .prefault({}),
  /** /metrics (O1). */
  metrics: z
    .strictObject({
      /**
       * Services with their own per-service series (by name order); the rest are summed under
       * service="_other", so label cardinality stays bounded whatever is registered.
       */
      maxServices: positiveInt.default(DEFAULT_METRICS_MAX_SERVICES),
    })
    .prefault({}),
  watch: z
    .strictObject({
      historyPerService: positiveInt.default(DEFAULT_WATCH_LIMITS.historyPerService),
      /** Bytes of events kept per service for resume; the oldest go first. */
      historyBytesPerService: positiveInt.default(DEFAULT_WATCH_LIMITS.historyBytesPerService),
      queuePerWatcher: positiveInt.default(DEFAULT_WATCH_LIMITS.queuePerWatcher),
      /** Bytes held for one slow watcher before it gets RESET + snapshot instead. */
      queueBytesPerWatcher: positiveInt.default(DEFAULT_WATCH_LIMITS.queueBytesPerWatcher),
      maxWatchers: positiveInt.default(DEFAULT_WATCH_LIMITS.maxWatchers),
      heartbeatMs: timerMs.default(DEFAULT_WATCH_LIMITS.heartbeatMs),
    })
    .prefault({}),
  health: z
    .strictObject({
      /** Active checks in flight at once across the process (H5). */
      maxConcurrentProbes: positiveInt.default(DEFAULT_MAX_CONCURRENT_PROBES),
    })
    .prefault({}),
  sessions: z
    .strictObject({
      /** Pinned sessions held at once in memory (without Redis); past it, RESOURCE_EXHAUSTED. */
      maxSessions: positiveInt.default(1_000_000),
      /** NOT_FOUND facts (P8) kept at once, least recently used dropped first. */
      maxNegativeFacts: positiveInt.default(100_000),
    })
    .prefault({}),
  /** Per kind of shared state: L1/L2 policies and failure mode (state-schema.ts). */
  state: stateSchema,
  replicas: z
    .strictObject({
      /** How often a replica tells the others its in-flight counts (with Redis); the staleness bound of that view. */
      loadShareIntervalMs: timerMs.default(1_000),
    })
    .prefault({}),
  quota: z
    .strictObject({
      /** Replicas sharing the Redis: while it is down each enforces 1/replicas of every limit (Q6 degraded). */
      replicas: positiveInt.default(1),
      /**
       * Q9: the shortest time usage a provider's `remaining` shows beyond what Fulcrum knew of
       * is held; a call in flight longer holds it that long (the calls in flight report by then).
       */
      reconcileHoldMs: timerMs.default(DEFAULT_RECONCILE_HOLD_MS),
      /**
       * Q9: how long after a Select the provider may count the call (the answer's way back,
       * the gateway, the network): window reservations count from then.
       */
      upstreamLagMs: z.number().int().min(0).max(MAX_UPSTREAM_LAG_MS).default(DEFAULT_UPSTREAM_LAG_MS),
      /**
       * Q10: admission needs room for the cost x how far Reports' real usage runs above Select
       * costs (the `quantile` of the last `samples` ratios per service and dimension, at most
       * `cap`); only the cost is charged. `off`: room for the cost alone.
       */
      estimateMargin: z
        .strictObject({
          mode: z.enum(["off", "learned"]).default(DEFAULT_ESTIMATE_MARGIN.mode),
          quantile: z.number().gt(0).max(1).default(DEFAULT_ESTIMATE_MARGIN.quantile),
          cap: z.number().min(1).max(100).default(DEFAULT_ESTIMATE_MARGIN.cap),
          samples: positiveInt.max(MAX_MARGIN_SAMPLES).default(DEFAULT_ESTIMATE_MARGIN.samples),
        })
        .prefault({}),
    })
    .prefault({}),
  tickets: z
    .strictObject({
      /**
       * HMAC secret for ticket signatures, shared by replicas. Unset: random per process in
       * memory; with Redis, one is created once and shared through it.
       */
      secret: z.string().min(16, "must be at least 16 characters").optional(),
    })
    .prefault({}),
  redis: z
    .strictObject({
      /**
       * redis://[user:password@]host:port of one server (rediss:// for TLS); unset (and no
       * cluster) runs in memory. The password is never logged (behaviour.md A4).
       */
      url: z
        .string()
        .regex(/^rediss?:\/\//, "must start with redis:// or rediss://")
        .optional(),
      /** PEM CA bundle that signs the Redis server's certificate (rediss://); unset: the system CAs. */
      tlsCaFile: z.string().min(1).optional(),
      /** host:port,host:port seed nodes of a Redis Cluster. */
      cluster: z
        .string()
        .regex(/^[^,:\s]+:\d+(,[^,:\s]+:\d+)*$/, "must be host:port[,host:port...]")
        .optional(),
      prefix: z.string().min(1).default("fulcrum"),
      commandTimeoutMs: timerMs.default(1_000),
      /** How long startup waits for Redis to be ready (refused connections are retried) before it exits. */
      connectTimeoutMs: timerMs.default(5_000),
    })
    .prefault({})
    .refine((r) => !(r.url && r.cluster), { message: "set url or cluster, not both", path: ["cluster"] }),
  /**
   * TLS on all three ports (gRPC, web, xDS), behaviour.md A1. Unset: plaintext. The files are
   * re-read when they change (every auth.reloadCheckMs), so certificates rotate without a restart.
   */
  tls: z
    .strictObject({
      /** PEM certificate chain the ports present (leaf first). */
      certFile: z.string().min(1).optional(),
      /** PEM private key of certFile. */
      keyFile: z.string().min(1).optional(),
      /** PEM CA bundle that signs client certificates: set, every client must present one (mTLS). */
      clientCaFile: z.string().min(1).optional(),
    })
    .prefault({})
    .refine((t) => !t.certFile === !t.keyFile, {
      message: "set tls.certFile and tls.keyFile together",
      path: ["keyFile"],
    })
    .refine((t) => !t.clientCaFile || t.certFile, {
      message: "mutual TLS needs tls.certFile and tls.keyFile too",
      path: ["clientCaFile"],
    }),
  auth: z
    .strictObject({
      /**
       * YAML file of tokens (name, SHA-256, scopes) and client-certificate identities
       * (behaviour.md A2), re-read when it changes. Unset: no authorization (loopback only, A3).
       */
      tokensFile: z.string().min(1).optional(),
      /** When true, grpc.health.v1 and the web port's plain HTTP paths need a known caller too. */
      protectProbes: z.boolean().default(false),
      /** How often the tokens file (and TLS files) are checked for changes. */
      reloadCheckMs: timerMs.default(1_000),
      /** Serve without authorization on a non-loopback address anyway (A3); logs a warning. */
      insecure: z.boolean().default(false),
    })
    .prefault({}),
  shutdownDeadlineMs: timerMs.default(10_000),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

/** The validated configuration. */
export type FulcrumConfig = z.infer<typeof configSchema>;

/** Input before defaults (what a file, env or flags may give). */
export type FulcrumConfigInput = z.input<typeof configSchema>;
