/**
 * One Watch stream over every service, kept open: when it ends or fails (the server restarted,
 * the network dropped) it is opened again after a growing pause, with `resume_versions` set to
 * the last version applied per service, so the server replays only what was missed (or sends
 * RESET and a snapshot when it no longer holds that history). A token that may not watch every
 * service watches the ones ListServices shows it, listed again at each reconnect.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { WatchResponse } from "../../gen/fulcrum/v1/balancer_pb.js";
import type { Api } from "./api.js";

/** Where the stream stands, for the header's status pill. */
export type Connection =
  | { readonly kind: "connecting" }
  | { readonly kind: "live" }
  | { readonly kind: "retrying"; readonly inMs: number; readonly reason: string }
  | { readonly kind: "denied"; readonly inMs: number; readonly reason: string };

/** First pause before reopening; doubled per failure up to MAX_PAUSE_MS. */
const FIRST_PAUSE_MS = 500;
const MAX_PAUSE_MS = 10_000;

export interface WatchLoopOptions {
  readonly api: Api;
  readonly resumeVersions: () => Record<string, bigint>;
  readonly onMessage: (message: WatchResponse) => void;
  readonly onConnection: (connection: Connection) => void;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = window.setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      window.clearTimeout(timer);
      resolve();
    });
  });
}

/** Starts the loop; `restart` drops the stream and reconnects at once (the token changed). */
export function startWatchLoop(options: WatchLoopOptions): { restart(): void } {
  let current = new AbortController();
  let pauseMs = FIRST_PAUSE_MS;
  /** Services to watch; empty watches all. Narrowed when the token may not watch every service. */
  let scope: string[] = [];

  /** The services ListServices shows this token (those it may watch), when it may not watch all. */
  async function narrowScope(): Promise<boolean> {
    const listed = await options.api.registry.listServices({}).catch(() => undefined);
    scope = listed?.services.map((service) => service.name) ?? [];
    return scope.length > 0;
  }

  async function once(signal: AbortSignal): Promise<void> {
    options.onConnection({ kind: "connecting" });
    const stream = options.api.balancer.watch(
      { services: scope, resumeVersions: options.resumeVersions() },
      { signal },
    );
    let announced = false;
    for await (const message of stream) {
      if (!announced) {
        announced = true;
        pauseMs = FIRST_PAUSE_MS;
        options.onConnection({ kind: "live" });
      }
      options.onMessage(message);
    }
  }

  async function loop(): Promise<void> {
    for (;;) {
      const { signal } = current;
      let reason = "the server ended the stream";
      let denied = false;
      let failure: Code | undefined;
      try {
        await once(signal);
      } catch (error) {
        ({ code: failure, message: reason } = ConnectError.from(error));
        denied = failure === Code.Unauthenticated || failure === Code.PermissionDenied;
      }
      if (signal.aborted) continue;
      if (failure === Code.PermissionDenied && scope.length === 0 && (await narrowScope())) continue;
      scope = [];
      options.onConnection({ kind: denied ? "denied" : "retrying", inMs: pauseMs, reason });
      await sleep(pauseMs, signal);
      if (!signal.aborted) pauseMs = Math.min(MAX_PAUSE_MS, pauseMs * 2);
    }
  }

  void loop();
  return {
    restart() {
      const previous = current;
      current = new AbortController();
      pauseMs = FIRST_PAUSE_MS;
      scope = [];
      previous.abort();
    },
  };
}
