import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { BalancerService, WatchRequestSchema } from "../../gen/fulcrum/v1/balancer_pb.js";
import { describeWatchResponse } from "./watch-format.js";

/** Options of `fulcrum watch`. */
export interface WatchCommandOptions {
  readonly server: string;
  readonly services: string[];
  readonly write: (line: string) => void;
  readonly signal: AbortSignal;
}

/**
 * Streams a server's Watch for `services` (all when empty) as one line per change, so an
 * operator sees backends go Degraded, Unhealthy, Recovering and Healthy live.
 */
export async function runWatchCommand(options: WatchCommandOptions): Promise<void> {
  const transport = createGrpcTransport({ baseUrl: options.server });
  const client = createClient(BalancerService, transport);
  for await (const message of client.watch(create(WatchRequestSchema, { services: options.services }), {
    signal: options.signal,
  })) {
    const line = describeWatchResponse(message);
    if (line) options.write(`${new Date().toISOString()} ${line}`);
  }
}
