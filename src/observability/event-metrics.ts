/** Counters of events the core reports as they happen: health transitions, probes, xDS (O1, X3). */
import { Counter, Gauge, type Registry } from "prom-client";

/** What the event metrics record. */
export interface EventMetrics {
  /** Counts one health transition (H1). */
  recordHealthTransition(to: string): void;
  /** Counts one active-check result (H5). */
  recordProbe(status: string): void;
  /** Counts one xDS response pushed, ACK or NACK received, by resource type (X3). */
  recordXds(event: "push" | "ack" | "nack", resourceType: string): void;
  /** Sets the number of open xDS streams of one protocol (sotw or delta). */
  setXdsStreams(protocol: string, count: number): void;
}

/** Registers the event metrics in `registry`. */
export function createEventMetrics(registry: Registry): EventMetrics {
  const transitions = new Counter({
    name: "fulcrum_health_transitions_total",
    help: "Health transitions, by the state entered.",
    labelNames: ["to"] as const,
    registers: [registry],
  });
  const probes = new Counter({
    name: "fulcrum_probe_results_total",
    help: "Active health check results, by status.",
    labelNames: ["status"] as const,
    registers: [registry],
  });
  const xdsStreams = new Gauge({
    name: "fulcrum_xds_streams",
    help: "Open xDS (ADS) streams, by protocol: sotw or delta.",
    labelNames: ["protocol"] as const,
    registers: [registry],
  });
  const xdsEvents = new Counter({
    name: "fulcrum_xds_messages_total",
    help: "xDS responses pushed and ACKs / NACKs received, by event and resource type.",
    labelNames: ["event", "type"] as const,
    registers: [registry],
  });
  return {
    recordHealthTransition: (to) => transitions.inc({ to }),
    recordProbe: (status) => probes.inc({ status }),
    recordXds: (event, type) => xdsEvents.inc({ event, type }),
    setXdsStreams: (protocol, count) => xdsStreams.set({ protocol }, count),
  };
}
