/**
 * What the fault suite checks after each fault, once Redis answers again: every acknowledged
 * registration on every replica, identical; every acknowledged pin answered with its backend by
 * every replica; every service of the load still in the registry log (a replica started later
 * knows it); and the most quota Selects admitted in one window.
 */
import {
  LOAD_SERVICES,
  type LoadTally,
  maxAdmittedPerWindow,
  type ReplicaClients,
} from "../../../bench/soak/mixed-load.js";
import { serviceKeys } from "../../../src/store/redis/keys.js";
import type { RedisProcess } from "../../support/redis.js";

/** What differs from what was acknowledged; empty when nothing was lost. */
export interface Losses {
  /** Acknowledged backends missing (or with another address) on some replica: `replica i: id`. */
  readonly registrations: string[];
  /** Replicas whose version or backend list of the MERGE service differs from replica 0's. */
  readonly divergent: string[];
  /** Pinned sessions some replica answers with another backend (or an error): `replica i: session`. */
  readonly pins: string[];
}

/** Compares every replica's LOAD_SERVICES.merge with what the load was told, and with each other. */
export async function registrationLosses(clients: readonly ReplicaClients[], tally: LoadTally) {
  const registrations: string[] = [];
  const divergent: string[] = [];
  let reference: string | undefined;
  for (const [i, client] of clients.entries()) {
    const status = await client.registry.getService({ service: LOAD_SERVICES.merge });
    const backends = new Map(
      status.service?.backends.map((b) => [b.backend?.id ?? "", b.backend?.address ?? ""]),
    );
    for (const [id, acked] of tally.registered) {
      if (backends.get(id) !== acked.address) registrations.push(`replica ${i}: ${id}`);
    }
    const shape = `${status.service?.version} ${[...backends.keys()].join(",")}`;
    reference ??= shape;
    if (shape !== reference) divergent.push(`replica ${i}: version ${status.service?.version}`);
  }
  return { registrations, divergent };
}

/** Services of the load whose definition Redis does not hold (the replicas' default key prefix). */
export async function servicesMissingFromLog(redis: RedisProcess): Promise<string[]> {
  const missing: string[] = [];
  for (const service of Object.values(LOAD_SERVICES)) {
    const held = await redis.cli("exists", serviceKeys("fulcrum", service).definition);
    if (held.trim() !== "1") missing.push(service);
  }
  return missing;
}

/** Asks every replica for every pinned session (command NEXT, which keeps a pin) and compares. */
export async function pinLosses(clients: readonly ReplicaClients[], tally: LoadTally): Promise<string[]> {
  const lost: string[] = [];
  for (const [i, client] of clients.entries()) {
    for (const [sessionId, backendId] of tally.pins) {
      const answer = await client.balancer
        .select({ service: LOAD_SERVICES.sessions, sessionId, command: "NEXT" })
        .catch(() => undefined);
      if (answer?.backends[0]?.id !== backendId) lost.push(`replica ${i}: ${sessionId}`);
      if (answer)
        await client.balancer.report({ outcomes: [{ ticket: answer.ticket, result: 1 }] }).catch(() => {});
    }
  }
  return lost;
}

/** The quota figure: most admitted in one window. */
export function quotaPeak(tally: LoadTally): number {
  return maxAdmittedPerWindow(tally.quotaAdmissions);
}
