/**
 * `fulcrum watch`: a live line per change. It says when a named service is not registered
 * (and keeps waiting for it), says when the server goes away, and reconnects resuming from
 * the last version it printed per service, so no change is shown twice or lost.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { WatchRequestSchema } from "../../gen/fulcrum/v1/balancer_pb.js";
import { connectTo, type FulcrumClients } from "./client.js";
import type { ClientTls } from "./client-transport.js";
import { describeWatchResponse } from "./watch-format.js";

/** Reconnect delays grow by this per failed attempt, up to the maximum. */
const RECONNECT_STEP_MS = 250;
const MAX_RECONNECT_DELAY_MS = 2_000;

/** Options of `fulcrum watch`. */
export interface WatchCommandOptions {
  readonly server: string;
  /** Bearer token; unset sends none. */
  readonly token?: string;
  readonly tls?: ClientTls | undefined;
  readonly services: string[];
  readonly write: (line: string) => void;
  readonly signal: AbortSignal;
}

function stamp(line: string): string {
  return `${new Date().toISOString()} ${line}`;
}

async function reportUnknown(
  clients: FulcrumClients,
  services: readonly string[],
  write: (line: string) => void,
) {
  for (const service of services) {
    try {
      await clients.registry.getService({ service });
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.NotFound)
        write(stamp(`service ${service} is not registered; waiting for it`));
      else throw error;
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A wrong or missing token: reconnecting cannot help, so the command stops. */
function isRefusedCredential(error: unknown): boolean {
  return (
    error instanceof ConnectError &&
    (error.code === Code.Unauthenticated || error.code === Code.PermissionDenied)
  );
}

/**
 * Watches until `signal` aborts, reconnecting whenever the stream ends or the server goes away;
 * rejects when the server refuses the credentials.
 */
export async function runWatchCommand(options: WatchCommandOptions): Promise<void> {
  const { write, signal } = options;
  const clients = connectTo(options.server, options.token, options.tls);
  const versions = new Map<string, bigint>();
  let failures = 0;
  let connectedOnce = false;
  while (!signal.aborted) {
    try {
      await reportUnknown(clients, options.services, write);
      if (connectedOnce && versions.size > 0)
        write(stamp(`reconnected; resuming from ${[...versions].map(([s, v]) => `${s} v${v}`).join(", ")}`));
      connectedOnce = true;
      failures = 0;
      const request = create(WatchRequestSchema, {
        services: options.services,
        resumeVersions: Object.fromEntries(versions),
      });
      for await (const message of clients.balancer.watch(request, { signal })) {
        const line = describeWatchResponse(message);
        if (!line) continue;
        if (message.service) versions.set(message.service, message.version);
        write(stamp(line));
      }
      if (signal.aborted) return;
      write(stamp(`server ${options.server} went away (it ended the stream); reconnecting`));
      failures = 1;
    } catch (error) {
      if (signal.aborted) return;
      if (isRefusedCredential(error)) throw error;
      if (failures === 0)
        write(stamp(`server ${options.server} went away (${(error as Error).message}); reconnecting`));
      failures += 1;
    }
    await sleep(Math.min(failures * RECONNECT_STEP_MS, MAX_RECONNECT_DELAY_MS), signal);
  }
}
