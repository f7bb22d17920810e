/** Client commands that read: `services`, `status <service>`, `select <service>`. */
import { create, toJson } from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { SelectRequestSchema, SelectResponseSchema } from "../../gen/fulcrum/v1/balancer_pb.js";
import { GetServiceResponseSchema, ListServicesResponseSchema } from "../../gen/fulcrum/v1/registry_pb.js";
import { type BackendStatus, HealthState } from "../../gen/fulcrum/v1/types_pb.js";
import { runClientCommand, withClientFlags } from "./command-runner.js";
import { formatTable } from "./table.js";

/** HEALTH_STATE_UNHEALTHY -> UNHEALTHY. */
export function healthName(state: HealthState): string {
  return (HealthState[state] ?? String(state)).replace(/^HEALTH_STATE_/, "");
}

function millis(duration: Duration | undefined): string {
  if (!duration) return "-";
  return `${(Number(duration.seconds) * 1_000 + duration.nanos / 1e6).toFixed(1)} ms`;
}

function quotaCell(remaining: Record<string, number>): string {
  const parts = Object.entries(remaining).map(([dimension, units]) => `${dimension}=${units}`);
  return parts.length ? parts.join(" ") : "-";
}

function stateCell(backend: BackendStatus): string {
  const marks = [
    backend.maintenance && "maintenance",
    backend.draining && "draining",
    backend.ejected && "ejected",
  ].filter(Boolean);
  return marks.length ? marks.join(",") : "-";
}

/** `key=value` pairs of repeated --cost / --label flags. */
function pairs(values: readonly string[], parse: (raw: string) => unknown) {
  const out: Record<string, unknown> = {};
  for (const item of values) {
    const equals = item.indexOf("=");
    if (equals <= 0) throw new Error(`expected key=value, got ${JSON.stringify(item)}`);
    out[item.slice(0, equals)] = parse(item.slice(equals + 1));
  }
  return out;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function addServices(program: Command): void {
  withClientFlags(program.command("services"))
    .description("list the registered services with their healthy counts")
    .addHelpText("after", "\nExample:\n  fulcrum services --server 127.0.0.1:4770")
    .action((flags) =>
      runClientCommand(flags, async ({ clients, print }) => {
        const response = await clients.registry.listServices({});
        const rows = response.services.map((s) => [s.name, `${s.healthy}/${s.backends}`, String(s.version)]);
        print(
          formatTable(["SERVICE", "HEALTHY", "VERSION"], rows),
          toJson(ListServicesResponseSchema, response),
        );
      }),
    );
}

function addStatus(program: Command): void {
  withClientFlags(program.command("status"))
    .description("show a service's backends: health, in-flight, latency, quota, pins, drain")
    .argument("<service>", "service name")
    .addHelpText("after", "\nExample:\n  fulcrum status payments")
    .action((service: string, flags) =>
      runClientCommand(flags, async ({ clients, print }) => {
        const response = await clients.registry.getService({ service });
        const backends = response.service?.backends ?? [];
        const rows = backends.map((b) => [
          b.backend?.id ?? "",
          b.backend?.address ?? "",
          healthName(b.health),
          String(b.inFlight),
          millis(b.ewmaLatency),
          quotaCell(b.quotaRemaining),
          String(b.pinnedSessions),
          stateCell(b),
        ]);
        const header = ["BACKEND", "ADDRESS", "HEALTH", "IN-FLIGHT", "EWMA", "QUOTA LEFT", "PINS", "STATE"];
        const title = `${service} v${response.service?.version ?? 0}, ${backends.length} backends`;
        print(`${title}\n${formatTable(header, rows)}`, toJson(GetServiceResponseSchema, response));
      }),
    );
}

function addSelect(program: Command): void {
  withClientFlags(program.command("select"))
    .description("ask which backend to call, as a client would (the ticket is printed for Report)")
    .argument("<service>", "service name")
    .option("-n, --count <n>", "distinct backends to return", (v) => Number(v))
    .option("-k, --hash-key <key>", "affinity key for hash strategies")
    .option("--session <id>", "session id (pinned sessions)")
    .option("--command <command>", "the session's command, e.g. a SQL verb")
    .option("--cost <dimension=units>", "quota cost, repeatable", collect, [])
    .option("--label <key=value>", "required backend label, repeatable", collect, [])
    .option("--explain", "show every backend with the filter that removed it")
    .addHelpText(
      "after",
      "\nExamples:\n  fulcrum select db\n  fulcrum select cache -k user-42 --explain\n  fulcrum select llm --cost tokens=800",
    )
    .action((service: string, flags) =>
      runClientCommand(flags, async ({ clients, print }) => {
        const request = create(SelectRequestSchema, {
          service,
          count: flags.count ?? 0,
          hashKey: flags.hashKey ?? "",
          sessionId: flags.session ?? "",
          command: flags.command ?? "",
          cost: pairs(flags.cost, Number) as Record<string, number>,
          labels: pairs(flags.label, String) as Record<string, string>,
          explain: Boolean(flags.explain),
        });
        const response = await clients.balancer.select(request);
        const picked = response.backends.map((b) => `${b.id} ${b.address}`).join("\n");
        const notices = [
          response.degraded && "degraded",
          response.probe && "probe: an unhealthy backend's trial pick",
        ];
        const notes = notices
          .filter(Boolean)
          .map((flag) => ` (${flag})`)
          .join("");
        const lines = [picked, `ticket ${response.ticket}${notes}`];
        const explanation = response.explanation;
        if (explanation) {
          const rows = explanation.candidates.map((c) => [
            c.backendId,
            c.picked ? "picked" : c.removedBy || "-",
            c.removedBy ? "-" : c.score.toFixed(3),
          ]);
          lines.push(`strategy ${explanation.strategy}: ${explanation.reason}`);
          lines.push(formatTable(["BACKEND", "OUTCOME", "SCORE"], rows));
        }
        print(lines.join("\n"), toJson(SelectResponseSchema, response));
      }),
    );
}

/** Adds services, status and select to `program`. */
export function addQueryCommands(program: Command): void {
  addServices(program);
  addStatus(program);
  addSelect(program);
}
