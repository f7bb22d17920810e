/**
 * An in-process InvalidationBus hub: several caches ("replicas") in one process, each with
 * its own endpoint, as Redis pub/sub connects replicas across processes (behaviour.md C9).
 * A message published on one endpoint reaches the subscribers of every other endpoint, in
 * publish order. Delivery is synchronous by default (tests need no waiting) or in a
 * microtask (`delivery: "microtask"`, closer to a real bus). A subscriber that throws is
 * skipped; the others still get the message.
 */
import type { InvalidationBus, InvalidationMessage } from "../../cache/ports.js";

/** Options of a MemoryBusHub. */
export interface MemoryBusOptions {
  readonly delivery: "sync" | "microtask";
}

type Handler = (message: InvalidationMessage) => void;

class Endpoint implements InvalidationBus {
  readonly handlers = new Set<Handler>();

  constructor(private readonly hub: MemoryBusHub) {}

  async publish(message: InvalidationMessage): Promise<void> {
    this.hub.deliver(this, message);
  }

  subscribe(handler: Handler): () => void {
    const wrapped: Handler = (m) => handler(m);
    this.handlers.add(wrapped);
    return () => this.handlers.delete(wrapped);
  }
}

/** Connects the endpoints of one process; see the file header. */
export class MemoryBusHub {
  private readonly endpoints = new Set<Endpoint>();
  private readonly delivery: "sync" | "microtask";
  /** Messages published so far. */
  published = 0;

  constructor(options: Partial<MemoryBusOptions> = {}) {
    this.delivery = options.delivery ?? "sync";
  }

  /** A new endpoint: one replica's connection to the bus. */
  connect(): InvalidationBus {
    const endpoint = new Endpoint(this);
    this.endpoints.add(endpoint);
    return endpoint;
  }

  /** Hands `message` to every endpoint but `from`. Called by endpoints. */
  deliver(from: InvalidationBus, message: InvalidationMessage): void {
    this.published++;
    const copy = Object.freeze({ ...message });
    const targets = [...this.endpoints].filter((e) => e !== from).flatMap((e) => [...e.handlers]);
    const run = () => {
      for (const handler of targets) {
        try {
          handler(copy);
        } catch {
          // One replica's failure never stops delivery to the others.
        }
      }
    };
    if (this.delivery === "sync") run();
    else queueMicrotask(run);
  }
}

/** A hub with `options`; call `connect()` once per replica. */
export function createMemoryBus(options: Partial<MemoryBusOptions> = {}): MemoryBusHub {
  return new MemoryBusHub(options);
}
