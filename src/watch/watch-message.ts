import type { ServiceChange } from "../registry/events.js";

/** What a Watch stream carries: a service change, a RESET before a fresh snapshot, or a keep-alive. */
export type WatchEvent =
  | ServiceChange
  | { readonly kind: "reset"; readonly reason: string }
  | { readonly kind: "heartbeat" };

/** One Watch message. `version` is the service version after the event (0 for heartbeats). */
export interface WatchMessage {
  readonly service: string;
  readonly version: number;
  readonly event: WatchEvent;
}
