/**
 * A bounded mixed load against a set of Fulcrum replicas, shared by the soak (`npm run soak`)
 * and the fault suite (test/faults/): Select + Report, MERGE Registers that each add one
 * backend, sessions pinned with a stateful command (and some ended), and quota-limited
 * Selects. Every call is bounded by a deadline and the loop by `untilMs` and `maxCalls`.
 * It tallies failures by method and status, and remembers what was acknowledged (registered
 * backends with their versions, pins with their backend, quota admissions with their time)
 * so a caller can check afterwards that nothing acknowledged was lost.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { BalancerService } from "../../gen/fulcrum/v1/balancer_pb.js";
import { RegistryService } from "../../gen/fulcrum/v1/registry_pb.js";
import { QuotaAlgorithm, RoutingMode } from "../../gen/fulcrum/v1/types_pb.js";

/** Services of the load. */
export const LOAD_SERVICES = {
  select: "load-select",
  merge: "load-merge",
  sessions: "load-sessions",
  quota: "load-quota",
} as const;

/** The quota service's limit and window: `QUOTA_LIMIT` requests per `QUOTA_WINDOW_MS`, fixed window. */
export const QUOTA_LIMIT = 100;
export const QUOTA_WINDOW_MS = 2_000;

const CALL_TIMEOUT_MS = 3_000;

/** Clients of one replica over one HTTP/2 connection. */
export function replicaClients(port: number) {
  const sessionManager = new Http2SessionManager(`http://127.0.0.1:${port}`);
  const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, sessionManager });
  return {
    registry: createClient(RegistryService, transport),
    balancer: createClient(BalancerService, transport),
    close: () => sessionManager.abort(),
  };
}

/** Clients of one replica. */
export type ReplicaClients = ReturnType<typeof replicaClients>;

const backend = (id: string, i: number) => ({ id, address: `10.20.${(i >> 8) & 255}.${i & 255}:80` });

/** Registers the load's services (on one replica; the others learn them through Redis). */
export async function registerLoadServices(
  clients: ReplicaClients,
  sessionIdleTtlSeconds: number,
): Promise<void> {
  const five = Array.from({ length: 5 }, (_, i) => backend(`b${i}`, i + 1));
  await clients.registry.register({ service: LOAD_SERVICES.select, backends: five });
  await clients.registry.register({ service: LOAD_SERVICES.merge, backends: [backend("m-seed", 1)] });
  await clients.registry.register({
    service: LOAD_SERVICES.sessions,
    config: {
      session: {
        routingMode: RoutingMode.HYBRID,
        idleTtl: { seconds: BigInt(sessionIdleTtlSeconds), nanos: 0 },
      },
    },
    backends: five.map((b) => ({ ...b, maxConnections: 100_000 })),
  });
  await clients.registry.register({
    service: LOAD_SERVICES.quota,
    backends: [
      {
        ...backend("q0", 1),
        quotas: [
          {
            dimension: "requests",
            limit: QUOTA_LIMIT,
            window: { seconds: BigInt(QUOTA_WINDOW_MS / 1000), nanos: 0 },
            algorithm: QuotaAlgorithm.FIXED_WINDOW,
          },
        ],
      },
    ],
  });
}

/** What one run of the load saw. */
export interface LoadTally {
  /** Successful calls by method. */
  readonly ok: Record<string, number>;
  /** Failed calls by `method status`, e.g. `Register Unavailable` (methods: Select, PinSelect, QuotaSelect, Report, Register, EndSession). */
  readonly failed: Record<string, number>;
  /** The first message of each failure kind, to tell failure modes apart. */
  readonly failureMessages: Record<string, string>;
  /** Backends of LOAD_SERVICES.merge whose Register was acknowledged: the address of the newest acknowledged one. */
  readonly registered: Map<string, { readonly version: bigint; readonly address: string }>;
  /** Sessions pinned (acknowledged STATEFUL Selects) and not ended: session id -> backend id. */
  readonly pins: Map<string, string>;
  /** Wall-clock ms of every admitted quota Select. */
  readonly quotaAdmissions: number[];
  /** Quota Selects refused with RESOURCE_EXHAUSTED (the limit held). */
  quotaRefused: number;
}

/** An empty tally. */
export function newTally(): LoadTally {
  return {
    ok: {},
    failed: {},
    failureMessages: {},
    registered: new Map(),
    pins: new Map(),
    quotaAdmissions: [],
    quotaRefused: 0,
  };
}

function count(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

function noteFailure(tally: LoadTally, method: string, error: unknown): void {
  const code = error instanceof ConnectError ? Code[error.code] : "client";
  const key = `${method} ${code}`;
  count(tally.failed, key);
  tally.failureMessages[key] ??= error instanceof ConnectError ? error.rawMessage : String(error);
}

/** Options of one load run. */
export interface LoadOptions {
  readonly replicas: readonly ReplicaClients[];
  readonly tally: LoadTally;
  /** Concurrent workers. */
  readonly workers: number;
  /** Wall-clock end (Date.now()). */
  readonly untilMs: number;
  /** At most this many operations in all. */
  readonly maxCalls: number;
  /** Pause between one worker's operations, ms (0: none). */
  readonly pauseMs?: number;
  /** MERGE Registers reuse this many backend ids (updating their address), so membership stays bounded. */
  readonly mergeIds: number;
}

/** Runs the load until `untilMs` or `maxCalls`; resolves when every worker stopped. */
export async function runMixedLoad(options: LoadOptions): Promise<void> {
  let issued = 0;
  let sequence = 0;
  const worker = async (w: number) => {
    while (Date.now() < options.untilMs && issued < options.maxCalls) {
      issued++;
      const n = sequence++;
      const clients = options.replicas[(w + n) % options.replicas.length]!;
      await operation(clients, options, n, w);
      if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  };
  await Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)));
}

const timeout = () => ({ timeoutMs: CALL_TIMEOUT_MS });

async function operation(clients: ReplicaClients, options: LoadOptions, n: number, w: number): Promise<void> {
  const { tally } = options;
  const kind = n % 10;
  if (kind < 5) {
    await selectAndReport(clients, tally, LOAD_SERVICES.select, {});
    return;
  }
  if (kind === 5) return register(clients, tally, `m${n % options.mergeIds}`, n);
  if (kind < 8) return pinSession(clients, tally, `s${w}-${n}`, n);
  return quotaSelect(clients, tally);
}

async function selectAndReport(
  clients: ReplicaClients,
  tally: LoadTally,
  service: string,
  extra: { sessionId?: string; command?: string },
  method = "Select",
) {
  try {
    const picked = await clients.balancer.select({ service, ...extra }, timeout());
    count(tally.ok, method);
    try {
      await clients.balancer.report({ outcomes: [{ ticket: picked.ticket, result: 1 }] }, timeout());
      count(tally.ok, "Report");
    } catch (error) {
      noteFailure(tally, "Report", error);
    }
    return picked;
  } catch (error) {
    noteFailure(tally, method, error);
    return undefined;
  }
}

async function register(clients: ReplicaClients, tally: LoadTally, id: string, n: number) {
  const spec = backend(id, (n % 60_000) + 2);
  try {
    const answer = await clients.registry.register(
      { service: LOAD_SERVICES.merge, mode: 2, backends: [spec] },
      timeout(),
    );
    count(tally.ok, "Register");
    const known = tally.registered.get(id);
    if (!known || known.version < answer.version)
      tally.registered.set(id, { version: answer.version, address: spec.address });
  } catch (error) {
    noteFailure(tally, "Register", error);
  }
}

async function pinSession(clients: ReplicaClients, tally: LoadTally, sessionId: string, n: number) {
  const picked = await selectAndReport(
    clients,
    tally,
    LOAD_SERVICES.sessions,
    { sessionId, command: "GROUP misc.test" },
    "PinSelect",
  );
  const backendId = picked?.backends[0]?.id;
  if (!backendId) return;
  // One session in four ends; the others stay pinned for the check afterwards.
  if (n % 4 !== 0) {
    tally.pins.set(sessionId, backendId);
    return;
  }
  try {
    await clients.balancer.endSession({ service: LOAD_SERVICES.sessions, sessionId }, timeout());
    count(tally.ok, "EndSession");
  } catch (error) {
    // Not ended for sure: it may still be pinned, so it is not checked either way.
    noteFailure(tally, "EndSession", error);
  }
}

async function quotaSelect(clients: ReplicaClients, tally: LoadTally) {
  try {
    const picked = await clients.balancer.select({ service: LOAD_SERVICES.quota }, timeout());
    tally.quotaAdmissions.push(Date.now());
    count(tally.ok, "QuotaSelect");
    await clients.balancer
      .report({ outcomes: [{ ticket: picked.ticket, result: 1 }] }, timeout())
      .catch((error: unknown) => noteFailure(tally, "Report", error));
  } catch (error) {
    if (error instanceof ConnectError && error.code === Code.ResourceExhausted) {
      tally.quotaRefused++;
      return;
    }
    noteFailure(tally, "QuotaSelect", error);
  }
}

/** The most quota Selects admitted in one fixed window (aligned to the epoch, as the limiter's). */
export function maxAdmittedPerWindow(admissions: readonly number[]): number {
  const perWindow = new Map<number, number>();
  for (const at of admissions) {
    const window = Math.floor(at / QUOTA_WINDOW_MS);
    perWindow.set(window, (perWindow.get(window) ?? 0) + 1);
  }
  return Math.max(0, ...perWindow.values());
}
