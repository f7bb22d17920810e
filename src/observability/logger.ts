import pino from "pino";

/** The process logger. Structured JSON on stdout; level from config. */
export type Logger = pino.Logger;

/** A pino logger at `level`. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: "fulcrum" } });
}
