/**
 * The tokens file of behaviour.md A2, loaded at start and re-read when it changes. A file
 * that fails to load at start stops the start (ConfigError naming `auth.tokensFile`); a
 * later bad edit is logged and the previous table stays in force, so a typo never opens or
 * closes the server. Logs name counts only: the file holds hashes, never tokens.
 */
import { readFileSync } from "node:fs";
import { type AccessTable, parseAccessTable } from "../auth/access-table.js";
import { ConfigError } from "../config/load-config.js";
import type { Logger } from "../observability/logger.js";
import { watchFiles } from "./watch-files.js";

/** The live table and how to stop watching its file. */
export interface AccessFile {
  current(): AccessTable;
  close(): void;
}

function load(path: string): AccessTable {
  return parseAccessTable(readFileSync(path, "utf8"));
}

/** Loads `path` (throws ConfigError) and re-reads it on change every `checkMs`. */
export function openAccessFile(path: string, checkMs: number, logger: Logger): AccessFile {
  let table: AccessTable;
  try {
    table = load(path);
  } catch (error) {
    throw new ConfigError(`auth.tokensFile: cannot load ${path}: ${(error as Error).message}`);
  }
  const stop = watchFiles([path], checkMs, () => {
    try {
      table = load(path);
      logger.info({ entries: table.size }, "auth.tokensFile reloaded");
    } catch (error) {
      logger.error(
        { problem: (error as Error).message },
        "auth.tokensFile could not be reloaded; the previous tokens stay in force",
      );
    }
  });
  return { current: () => table, close: stop };
}
