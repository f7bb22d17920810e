import { readFileSync } from "node:fs";
import { closest } from "fastest-levenshtein";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { configSchema, type FulcrumConfig } from "./schema.js";

/** A configuration that failed validation; the message names every bad field. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type Tree = { [key: string]: Tree | unknown };

const ENV_PREFIX = "FULCRUM_";

function isTree(value: unknown): value is Tree {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = isTree(value) && isTree(out[key]) ? deepMerge(out[key] as Tree, value) : value;
  }
  return out;
}

function envName(path: readonly string[]): string {
  return ENV_PREFIX + path.map((p) => p.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()).join("_");
}

/** A schema node as zod 4 describes it: its kind, and what it wraps or holds. */
interface SchemaNode {
  readonly _zod: {
    readonly def: {
      type: string;
      innerType?: SchemaNode;
      in?: SchemaNode;
      shape?: Record<string, SchemaNode>;
    };
  };
}

/** Strips optional/default/prefault/pipe wrappers down to the object or leaf they hold. */
function unwrap(node: SchemaNode): SchemaNode {
  const def = node._zod.def;
  const inner = def.innerType ?? (def.type === "pipe" ? def.in : undefined);
  return inner ? unwrap(inner) : node;
}

/** An environment string as the leaf kind wants it; anything unparsable is left for the schema to reject. */
function envValue(kind: string, raw: string): unknown {
  if (kind === "number" && raw.trim() !== "") return Number(raw);
  if (kind === "array")
    return raw
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean);
  if (kind === "boolean" && /^(true|1|false|0)$/i.test(raw.trim())) return /^(true|1)$/i.test(raw.trim());
  return raw;
}

/**
 * Variables with this prefix belong to `npm run bench`, which passes its environment on to
 * the servers it starts; they are not settings.
 */
const BENCH_PREFIX = "FULCRUM_BENCH_";

/**
 * The CLI client's token variable (`fulcrum select ...` reads it). It is not a server setting,
 * but an operator's shell that exports it must still be able to run `fulcrum serve`.
 */
export const CLIENT_TOKEN_VARIABLE = "FULCRUM_TOKEN";

function isServerSetting(name: string): boolean {
  return name.startsWith(ENV_PREFIX) && !name.startsWith(BENCH_PREFIX) && name !== CLIENT_TOKEN_VARIABLE;
}

/** Every setting's path and leaf kind, optional ones (no default) included: the walk follows the schema's shape. */
function settingsOf(shape: Record<string, SchemaNode>, path: string[] = []): [string[], string][] {
  return Object.entries(shape).flatMap(([key, field]) => {
    const { type, shape: childShape } = unwrap(field)._zod.def;
    if (type === "object" && childShape) return settingsOf(childShape, [...path, key]);
    return [[[...path, key], type] as [string[], string]];
  });
}

function setAt(tree: Tree, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1] as string] = value;
}

/**
 * FULCRUM_GRPC_PORT=5000 -> { grpc: { port: 5000 } }, for every setting the schema has. A
 * FULCRUM_* variable that names no setting is an error naming the nearest one (O7), as an
 * unknown key in the YAML file is.
 */
function fromEnv(env: NodeJS.ProcessEnv): Tree {
  const settings = settingsOf(configSchema.shape as unknown as Record<string, SchemaNode>);
  const byName = new Map(settings.map(([path, kind]) => [envName(path), { path, kind }]));
  const out: Tree = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!isServerSetting(name) || raw === undefined) continue;
    const setting = byName.get(name);
    if (!setting)
      throw new ConfigError(
        `unknown environment variable ${name}; did you mean ${closest(name, [...byName.keys()])}?`,
      );
    setAt(out, setting.path, envValue(setting.kind, raw));
  }
  return out;
}

function format(error: z.ZodError, source: string): string {
  const lines = error.issues.map((issue) => `  ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  return `invalid configuration (${source}):\n${lines.join("\n")}`;
}

/** Options of loadConfig. */
export interface LoadConfigOptions {
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Settings from command-line flags, already shaped like the schema. */
  readonly overrides?: Tree;
}

/** Merges defaults, the YAML file, the environment and flags; throws ConfigError naming bad fields. */
export function loadConfig(options: LoadConfigOptions = {}): FulcrumConfig {
  let fileTree: Tree = {};
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, "utf8");
    } catch (error) {
      throw new ConfigError(`cannot read config file ${options.file}: ${(error as Error).message}`);
    }
    const parsed = parseYaml(text) ?? {};
    if (!isTree(parsed)) throw new ConfigError(`config file ${options.file} must hold a mapping`);
    fileTree = parsed;
  }
  const merged = deepMerge(deepMerge(fileTree, fromEnv(options.env ?? {})), options.overrides ?? {});
  const result = configSchema.safeParse(merged);
  if (!result.success)
    throw new ConfigError(
      format(result.error, options.file ? `file ${options.file}, env, flags` : "env and flags"),
    );
  return result.data;
}

/** The environment variable that sets a config path, for --help and docs. */
export const environmentVariable = envName;
