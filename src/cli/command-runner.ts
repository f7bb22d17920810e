/** What every client command shares: the --server / --token / --tls-* / --json flags, output, and exit codes. */
import { type Command, Option } from "commander";
import { CLIENT_TOKEN_VARIABLE } from "../config/load-config.js";
import { connectTo, DEFAULT_SERVER, describeFailure, exitCodeOf, type FulcrumClients } from "./client.js";
import type { ClientTls } from "./client-transport.js";

/** The global flags of client commands. */
export interface ClientFlags {
  readonly server: string;
  /** Bearer token (--token, else FULCRUM_TOKEN); never printed. */
  readonly token?: string;
  readonly json?: boolean;
  /** PEM files of --tls-ca, --tls-cert, --tls-key: their paths as given, read by main.ts into `tls`. */
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tls?: ClientTls;
}

/** What a command's body gets: clients and a way to print either text or JSON. */
export interface CommandContext {
  readonly clients: FulcrumClients;
  readonly flags: ClientFlags;
  /** Prints `json` (as JSON) with --json, else `text`. */
  print(text: string, json: unknown): void;
}

/** Adds --server, --token, --tls-ca, --tls-cert, --tls-key and --json to a client command. */
export function withClientFlags(command: Command): Command {
  return command
    .option("-s, --server <host:port>", "a Fulcrum gRPC address", DEFAULT_SERVER)
    .addOption(
      new Option("-t, --token <token>", "bearer token for a server with a tokens file").env(
        CLIENT_TOKEN_VARIABLE,
      ),
    )
    .option("--tls-ca <file>", "PEM CA of the server's certificate (TLS; system CAs when unset)")
    .option("--tls-cert <file>", "PEM client certificate, for a server that requires mutual TLS")
    .option("--tls-key <file>", "PEM private key of --tls-cert")
    .option("--json", "print JSON for scripts");
}

/**
 * Runs a command body against the server; a failed call prints one line on stderr and exits
 * with the gRPC status code (exitCodeOf).
 */
export async function runClientCommand(flags: ClientFlags, body: (context: CommandContext) => Promise<void>) {
  const context: CommandContext = {
    clients: connectTo(flags.server, flags.token, flags.tls),
    flags,
    print(text, json) {
      process.stdout.write(`${flags.json ? JSON.stringify(json, null, 2) : text}\n`);
    },
  };
  try {
    await body(context);
  } catch (error) {
    process.stderr.write(`fulcrum: ${describeFailure(error, flags.server)}\n`);
    process.exit(exitCodeOf(error));
  }
}
