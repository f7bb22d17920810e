/**
 * The PinStore on one Redis or a Redis Cluster: every replica on the same Redis sees the
 * same pins (P4). Keys are in pin-keys.ts (one hash tag per service, C13), scripts in
 * pin-scripts.ts: `pin` checks the backend's live pin count and sets the pin in one script
 * (P6), pins expire by PEXPIRE with the idle TTL refreshed by `touch` (P7), and per-backend
 * counts are zsets scored by expiry and trimmed by the scripts, so they never count an
 * expired pin. Each method is one round trip; Redis errors reject the returned promise.
 */
import {
  assertPinArguments,
  type PinResult,
  type PinStore,
  type SessionPin,
} from "../../sessions/pin-store.js";
import { pinKeys } from "./pin-keys.js";
import { COUNT_SCRIPT, END_SCRIPT, PIN_SCRIPT, RELEASE_SCRIPT, TOUCH_SCRIPT } from "./pin-scripts.js";
import type { RedisClient } from "./redis-client.js";

/** Options of the Redis PinStore. */
export interface RedisPinStoreOptions {
  readonly client: RedisClient;
  /** Key prefix, e.g. "fulcrum". Must not contain braces. */
  readonly prefix: string;
}

type Script<R> = (...args: (string | number)[]) => Promise<R>;

interface PinCommands {
  fulcrumPin: Script<[string, string]>;
  fulcrumPinTouch: Script<string | null>;
  fulcrumPinEnd: Script<string | null>;
  fulcrumPinCount: Script<(string | number)[]>;
  fulcrumPinRelease: Script<number>;
}

const SCRIPTS: readonly [keyof PinCommands, number, string][] = [
  ["fulcrumPin", 3, PIN_SCRIPT],
  ["fulcrumPinTouch", 2, TOUCH_SCRIPT],
  ["fulcrumPinEnd", 1, END_SCRIPT],
  ["fulcrumPinCount", 1, COUNT_SCRIPT],
  ["fulcrumPinRelease", 2, RELEASE_SCRIPT],
];

/** PinStore over Redis; see the file header. */
export class RedisPinStore implements PinStore {
  private readonly commands: PinCommands;

  constructor(private readonly options: RedisPinStoreOptions) {
    if (/[{}]/.test(options.prefix)) {
      throw new RangeError(`redisPinStore.prefix: must not contain braces, got ${options.prefix}`);
    }
    const client = options.client;
    for (const [name, numberOfKeys, lua] of SCRIPTS) client.defineCommand(name, { numberOfKeys, lua });
    const bound = client as unknown as PinCommands;
    this.commands = {
      fulcrumPin: bound.fulcrumPin.bind(client),
      fulcrumPinTouch: bound.fulcrumPinTouch.bind(client),
      fulcrumPinEnd: bound.fulcrumPinEnd.bind(client),
      fulcrumPinCount: bound.fulcrumPinCount.bind(client),
      fulcrumPinRelease: bound.fulcrumPinRelease.bind(client),
    };
  }

  async get(service: string, sessionId: string): Promise<SessionPin | undefined> {
    const backendId = await this.options.client.get(this.keys(service).session(sessionId));
    return backendId === null ? undefined : { backendId };
  }

  async pin(
    service: string,
    sessionId: string,
    backendId: string,
    idleTtlMs: number,
    maxPinsPerBackend: number,
    replacing?: string,
  ): Promise<PinResult> {
    assertPinArguments(idleTtlMs, maxPinsPerBackend);
    const keys = this.keys(service);
    const [kind, value] = await this.commands.fulcrumPin(
      keys.session(sessionId),
      keys.backend(backendId),
      keys.index,
      sessionId,
      backendId,
      idleTtlMs,
      maxPinsPerBackend === Number.POSITIVE_INFINITY ? -1 : maxPinsPerBackend,
      replacing ?? "",
      keys.backendPrefix,
    );
    if (kind === "pinned") return { kind, backendId, previousBackendId: value === "" ? undefined : value };
    if (kind === "existing") return { kind, backendId: value };
    return { kind: "capacity", backendId, limit: maxPinsPerBackend };
  }

  async touch(service: string, sessionId: string, idleTtlMs: number): Promise<SessionPin | undefined> {
    assertPinArguments(idleTtlMs);
    const keys = this.keys(service);
    const backendId = await this.commands.fulcrumPinTouch(
      keys.session(sessionId),
      keys.index,
      sessionId,
      idleTtlMs,
      keys.backendPrefix,
    );
    return backendId === null ? undefined : { backendId };
  }

  async end(service: string, sessionId: string): Promise<string | undefined> {
    const keys = this.keys(service);
    const backendId = await this.commands.fulcrumPinEnd(
      keys.session(sessionId),
      sessionId,
      keys.backendPrefix,
    );
    return backendId ?? undefined;
  }

  async countByBackend(service: string): Promise<ReadonlyMap<string, number>> {
    const keys = this.keys(service);
    const flat = await this.commands.fulcrumPinCount(keys.index, keys.backendPrefix);
    const counts = new Map<string, number>();
    for (let i = 0; i + 1 < flat.length; i += 2) counts.set(String(flat[i]), Number(flat[i + 1]));
    return counts;
  }

  async releaseBackend(service: string, backendId: string): Promise<number> {
    const keys = this.keys(service);
    return this.commands.fulcrumPinRelease(keys.index, keys.backend(backendId), backendId);
  }

  private keys(service: string) {
    return pinKeys(this.options.prefix, service);
  }
}
