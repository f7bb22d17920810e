import { readFileSync } from "node:fs";
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

/** FULCRUM_GRPC_PORT=5000 -> { grpc: { port: 5000 } }, for every setting the schema has. */
function fromEnv(env: NodeJS.ProcessEnv): Tree {
  const out: Tree = {};
  const visit = (defaults: Tree, path: string[], target: Tree) => {
    for (const [key, value] of Object.entries(defaults)) {
      if (isTree(value)) {
        const child: Tree = {};
        visit(value, [...path, key], child);
        if (Object.keys(child).length > 0) target[key] = child;
        continue;
      }
      const raw = env[envName([...path, key])];
      if (raw !== undefined) target[key] = typeof value === "number" && raw.trim() !== "" ? Number(raw) : raw;
    }
  };
  visit(configSchema.parse({}) as Tree, [], out);
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
