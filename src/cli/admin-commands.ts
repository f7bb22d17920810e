/** Client commands that change a service: register, drain, health, maint. */
import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import {
  DeregisterResponseSchema,
  RegisterMode,
  RegisterRequestSchema,
  RegisterResponseSchema,
  SetHealthResponseSchema,
} from "../../gen/fulcrum/v1/registry_pb.js";
import { HealthState } from "../../gen/fulcrum/v1/types_pb.js";
import { type ClientFlags, runClientCommand, withClientFlags } from "./command-runner.js";

/** Reads a file the user named (main passes fs; files are read only at the edge). */
export type ReadText = (path: string) => string;

/** The reason `maint on|off` records, shown by Watch and logs. */
const MAINTENANCE_REASON = "maintenance";

/** Backends from `host:port` arguments and a YAML file (`backends:` list in the API's JSON shape). */
function backendsOf(addresses: readonly string[], file: string | undefined, readText: ReadText): JsonValue[] {
  const listed: JsonValue[] = addresses.map((address) => ({ address }));
  if (!file) return listed;
  const parsed = parseYaml(readText(file)) as { backends?: JsonValue[] } | JsonValue[] | null;
  const fromFile = Array.isArray(parsed) ? parsed : (parsed?.backends ?? []);
  return [...listed, ...fromFile];
}

function addRegister(program: Command, readText: ReadText): void {
  withClientFlags(program.command("register"))
    .description("register backends of a service (replaces the set unless --merge)")
    .argument("<service>", "service name")
    .argument("[addresses...]", "backend host:port addresses")
    .option(
      "-f, --file <backends.yaml>",
      "backends from YAML: a list, or `backends:` with id, address, weight, labels...",
    )
    .option("--merge", "add or update the listed backends only; the service must exist")
    .addHelpText(
      "after",
      "\nExamples:\n  fulcrum register db 10.0.0.1:5432 10.0.0.2:5432\n  fulcrum register db --merge --file backends.yaml",
    )
    .action((service: string, addresses: string[], flags) =>
      runClientCommand(flags, async ({ clients, print }) => {
        const request = fromJson(RegisterRequestSchema, {
          service,
          backends: backendsOf(addresses, flags.file, readText),
          mode: flags.merge ? RegisterMode.MERGE : RegisterMode.REPLACE,
        } as JsonValue);
        if (request.backends.length === 0) throw new Error("no backends: give host:port addresses or --file");
        const response = await clients.registry.register(request);
        print(
          `${service}: ${response.changed ? "changed" : "unchanged"}, version ${response.version}`,
          toJson(RegisterResponseSchema, response),
        );
      }),
    );
}

function addDrain(program: Command): void {
  withClientFlags(program.command("drain"))
    .description("stop new selections of a backend; it is removed once idle or after the drain timeout")
    .argument("<service>", "service name")
    .argument("<backend>", "backend id")
    .addHelpText("after", "\nExample:\n  fulcrum drain db 10.0.0.2:5432")
    .action((service: string, backend: string, flags) =>
      runClientCommand(flags, async ({ clients, print }) => {
        const response = await clients.registry.deregister({ service, backendIds: [backend], drain: true });
        print(
          `${service} ${backend}: ${response.draining ? "draining" : response.removed ? "removed" : "not changed"}, version ${response.version}`,
          toJson(DeregisterResponseSchema, response),
        );
      }),
    );
}

async function setHealth(
  flags: ClientFlags,
  service: string,
  backend: string,
  decideHealthy: () => boolean,
  reason: string,
) {
  await runClientCommand(flags, async ({ clients, print }) => {
    const healthy = decideHealthy();
    const health = healthy ? HealthState.HEALTHY : HealthState.UNHEALTHY;
    const response = await clients.registry.setHealth({ service, backendId: backend, health, reason });
    print(
      `${service} ${backend}: ${healthy ? "HEALTHY" : "UNHEALTHY"}, version ${response.version}`,
      toJson(SetHealthResponseSchema, response),
    );
  });
}

function onOff(value: string, on: string, off: string): boolean {
  if (value !== on && value !== off)
    throw new Error(`expected ${on} or ${off}, got ${JSON.stringify(value)}`);
  return value === on;
}

function addHealth(program: Command): void {
  withClientFlags(program.command("health"))
    .description("force a backend's health: unhealthy at once, or healthy with its counters reset")
    .argument("<service>", "service name")
    .argument("<backend>", "backend id")
    .argument("<state>", "healthy | unhealthy")
    .option("--reason <text>", "recorded in Watch and logs", "set by fulcrum health")
    .addHelpText("after", "\nExample:\n  fulcrum health db 10.0.0.2:5432 unhealthy --reason 'disk full'")
    .action((service: string, backend: string, state: string, flags) =>
      setHealth(flags, service, backend, () => onOff(state, "healthy", "unhealthy"), flags.reason),
    );
}

function addMaint(program: Command): void {
  withClientFlags(program.command("maint"))
    .description("maintenance: `on` marks the backend UNHEALTHY, `off` HEALTHY again (reason: maintenance)")
    .argument("<service>", "service name")
    .argument("<backend>", "backend id")
    .argument("<switch>", "on | off")
    .addHelpText("after", "\nExample:\n  fulcrum maint db 10.0.0.2:5432 on")
    .action((service: string, backend: string, value: string, flags) =>
      setHealth(flags, service, backend, () => !onOff(value, "on", "off"), MAINTENANCE_REASON),
    );
}

/** Adds register, drain, health and maint to `program`. */
export function addAdminCommands(program: Command, readText: ReadText): void {
  addRegister(program, readText);
  addDrain(program);
  addHealth(program);
  addMaint(program);
}
