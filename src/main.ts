/**
 * The `fulcrum` command: `serve` runs the control plane; `--help` lists every flag.
 */
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import closeWithGrace from "close-with-grace";
import { Command, InvalidArgumentError } from "commander";
import { StartupError } from "./app/startup-error.js";
import { addAdminCommands } from "./cli/admin-commands.js";
import { type ClientFlags, runClientCommand, withClientFlags } from "./cli/command-runner.js";
import { addQueryCommands } from "./cli/query-commands.js";
import { runWatchCommand } from "./cli/watch-command.js";
import { ConfigError, environmentVariable, loadConfig } from "./config/load-config.js";
import { packageVersion } from "./config/package-version.js";
import { redactUrl } from "./config/redact.js";
import { collectStateFlag, type StateOverrides } from "./config/state-flags.js";

function portFlag(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new InvalidArgumentError("must be a port from 0 to 65535");
  return port;
}

interface ServeFlags {
  config?: string;
  host?: string;
  grpcPort?: number;
  webPort?: number;
  xdsPort?: number;
  logLevel?: string;
  redis?: string;
  redisCluster?: string;
  state?: StateOverrides;
  tokensFile?: string;
  insecure?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
}

function overridesFrom(flags: ServeFlags): Record<string, unknown> {
  const grpc = {
    ...(flags.host && { host: flags.host }),
    ...(flags.grpcPort !== undefined && { port: flags.grpcPort }),
  };
  const web = {
    ...(flags.host && { host: flags.host }),
    ...(flags.webPort !== undefined && { port: flags.webPort }),
  };
  const xds = {
    ...(flags.host && { host: flags.host }),
    ...(flags.xdsPort !== undefined && { port: flags.xdsPort }),
  };
  const redis = {
    ...(flags.redis && { url: flags.redis }),
    ...(flags.redisCluster && { cluster: flags.redisCluster }),
  };
  const auth = {
    ...(flags.tokensFile && { tokensFile: flags.tokensFile }),
    ...(flags.insecure && { insecure: true }),
  };
  const tls = {
    ...(flags.tlsCert && { certFile: flags.tlsCert }),
    ...(flags.tlsKey && { keyFile: flags.tlsKey }),
    ...(flags.tlsClientCa && { clientCaFile: flags.tlsClientCa }),
  };
  return {
    grpc,
    web,
    xds,
    redis,
    auth,
    tls,
    ...(flags.logLevel && { logLevel: flags.logLevel }),
    ...(flags.state && { state: flags.state }),
  };
}

async function serve(flags: ServeFlags): Promise<void> {
  const config = loadConfig({ file: flags.config, env: process.env, overrides: overridesFrom(flags) });
  // Loaded here, not at the top: --help, --version and the client commands need none of the server.
  const { createApp } = await import("./app/create-app.js");
  const app = await createApp(config);
  const state = config.redis.url
    ? `Redis ${redactUrl(config.redis.url)}`
    : config.redis.cluster
      ? `Redis Cluster ${config.redis.cluster}`
      : "in memory";
  process.stdout.write(
    `fulcrum listening: gRPC ${config.grpc.host}:${app.grpcPort}, web (Connect, gRPC-Web, gRPC) ${config.tls.certFile ? "https" : "http"}://${config.web.host}:${app.webPort}, xDS ${config.xds.host}:${app.xdsPort}, state ${state}\n`,
  );
  closeWithGrace({ delay: config.shutdownDeadlineMs + 1_000 }, async ({ err }) => {
    if (err) process.stderr.write(`fulcrum: ${err.stack ?? err}\n`);
    await app.close();
  });
}

// grpc-js writes its own "E No address added ..." line next to the error we explain in one
// line (O7); its internal log stays available with GRPC_VERBOSITY=ERROR|INFO|DEBUG.
if (!process.env.GRPC_VERBOSITY) grpc.setLogVerbosity(grpc.logVerbosity.NONE);

const version = packageVersion();

/**
 * Why `serve` could not start, as one line on stderr and an exit code (behaviour.md O7):
 * 2 for a bad setting, 1 for anything else. A stack trace is printed only at --log-level debug.
 */
function exitOnStartupFailure(error: unknown, logLevel: string | undefined): never {
  const code = error instanceof ConfigError ? 2 : 1;
  const known = error instanceof ConfigError || error instanceof StartupError;
  const message = error instanceof Error ? error.message : String(error);
  const line = known ? message : `cannot start: ${message.split("\n")[0]}`;
  process.stderr.write(`fulcrum: ${line}\n`);
  if (!known && (logLevel === "debug" || logLevel === "trace"))
    process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(code);
}

const program = new Command()
  .name("fulcrum")
  .description("Load-balancer control plane: which backend should I call for service X?")
  .version(version, "-V, --version", "print the version")
  .showHelpAfterError();

program
  .command("serve")
  .description("run the control plane (in memory, or shared through Redis with --redis / --redis-cluster)")
  .option("-c, --config <file>", "YAML config file")
  .option(
    "--host <host>",
    `listen address of every port (env ${environmentVariable(["grpc", "host"])}, ${environmentVariable(["web", "host"])}, ${environmentVariable(["xds", "host"])})`,
  )
  .option(
    "--grpc-port <port>",
    `gRPC port, 0 picks a free one (default 4770, env ${environmentVariable(["grpc", "port"])})`,
    portFlag,
  )
  .option(
    "--web-port <port>",
    `Connect / gRPC-Web / HTTP port (default 4771, env ${environmentVariable(["web", "port"])})`,
    portFlag,
  )
  .option(
    "--xds-port <port>",
    `xDS (ADS) port for Envoy and proxyless gRPC, 0 picks a free one (default 4772, env ${environmentVariable(["xds", "port"])})`,
    portFlag,
  )
  .option(
    "--redis <url>",
    `share state with other replicas through one Redis, e.g. redis://127.0.0.1:6379 (env ${environmentVariable(["redis", "url"])})`,
  )
  .option(
    "--redis-cluster <nodes>",
    `share state through a Redis Cluster: host:port,host:port,... (env ${environmentVariable(["redis", "cluster"])})`,
  )
  .option(
    "--state <kind.field=value>",
    "state.<kind>.<field> (repeatable), e.g. --state pins.failureMode=l1Only (docs/state.md)",
    collectStateFlag,
  )
  .option(
    "--tokens-file <file>",
    `YAML tokens file: who may call which verb on which service (env ${environmentVariable(["auth", "tokensFile"])})`,
  )
  .option(
    "--insecure",
    `serve without a tokens file on a non-loopback address (env ${environmentVariable(["auth", "insecure"])}=true)`,
  )
  .option(
    "--tls-cert <file>",
    `PEM certificate chain: TLS on every port, re-read when it changes (env ${environmentVariable(["tls", "certFile"])})`,
  )
  .option(
    "--tls-key <file>",
    `PEM private key of --tls-cert (env ${environmentVariable(["tls", "keyFile"])})`,
  )
  .option(
    "--tls-client-ca <file>",
    `PEM CA of client certificates: mutual TLS, every client must present one (env ${environmentVariable(["tls", "clientCaFile"])})`,
  )
  .option(
    "--log-level <level>",
    `fatal|error|warn|info|debug|trace|silent (env ${environmentVariable(["logLevel"])})`,
  )
  .addHelpText(
    "after",
    "\nEvery setting of the config file can also be set as FULCRUM_<PATH>, e.g. FULCRUM_LIMITS_MAX_SERVICES=500.",
  )
  .action(async (flags: ServeFlags) => {
    try {
      await serve(flags);
    } catch (error) {
      exitOnStartupFailure(error, flags.logLevel);
    }
  });

/**
 * A client command's --tls-ca, --tls-cert and --tls-key name PEM files: they are read here, at
 * the edge (only main.ts and app/ read files), into the command's `tls` flag. A file that
 * cannot be read stops the command in one line naming the flag.
 */
function readClientTls(command: Command): void {
  const { tlsCa, tlsCert, tlsKey } = command.opts<ClientFlags>();
  if (!tlsCa && !tlsCert && !tlsKey) return;
  if (!tlsCert !== !tlsKey) failCommand("give --tls-cert and --tls-key together");
  const read = (flag: string, path: string | undefined) => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      return failCommand(`${flag}: cannot read ${path} (${(error as NodeJS.ErrnoException).code})`);
    }
  };
  command.setOptionValue("tls", {
    ca: read("--tls-ca", tlsCa),
    cert: read("--tls-cert", tlsCert),
    key: read("--tls-key", tlsKey),
  });
}

/** Ends a client command that was given bad flags, in one line (exit 2, like a bad setting). */
function failCommand(line: string): never {
  process.stderr.write(`fulcrum: ${line}\n`);
  process.exit(2);
}

program.hook("preAction", (_program, command) => {
  if (command.name() !== "serve") readClientTls(command);
});

addQueryCommands(program);
addAdminCommands(program, (path) => readFileSync(path, "utf8"));

withClientFlags(program.command("watch"))
  .description(
    "print a live line per change of the named services (all when none); resumes after a reconnect",
  )
  .argument("[services...]", "service names")
  .addHelpText("after", "\nExample:\n  fulcrum watch payments --server 127.0.0.1:4770")
  .action((services: string[], flags: ClientFlags) =>
    // runClientCommand prints a refused token as one line and exits with its status.
    runClientCommand(flags, async () => {
      const abort = new AbortController();
      process.once("SIGINT", () => abort.abort());
      process.once("SIGTERM", () => abort.abort());
      await runWatchCommand({
        server: flags.server,
        token: flags.token,
        tls: flags.tls,
        services,
        write: (line) => process.stdout.write(`${line}\n`),
        signal: abort.signal,
      });
    }),
  );

await program.parseAsync(process.argv);
