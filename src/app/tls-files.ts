/**
 * The TLS files of `tls.*` (behaviour.md A1), loaded at start and re-read when they change, so
 * certificates rotate without a restart. A file that fails to load at start stops the start
 * with one line naming the setting; a bad file later (a half-written certificate, a key that
 * does not match yet) is logged in one line and the ports keep the previous certificate.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { ConfigError } from "../config/load-config.js";
import type { FulcrumConfig } from "../config/schema.js";
import type { Logger } from "../observability/logger.js";
import { secureContextOptions, type TlsMaterial, type TlsSource } from "../rpc/tls/tls-source.js";
import { watchFiles } from "./watch-files.js";

/** The paths of a TLS configuration (tls.certFile and tls.keyFile set). */
interface TlsPaths {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile?: string | undefined;
}

/** A TLS file that did not load, with the setting that names it. */
class TlsFileProblem extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
  }
}

function read(path: string, setting: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new TlsFileProblem(setting, `cannot read ${path} (${(error as NodeJS.ErrnoException).code})`);
  }
}

function parsed<T>(setting: string, what: string, parse: () => T): T {
  try {
    return parse();
  } catch {
    throw new TlsFileProblem(setting, `does not hold ${what}`);
  }
}

/** Reads and checks the files: certificate, key, key matches certificate, client CA. */
function load(paths: TlsPaths): { material: TlsMaterial; certificate: X509Certificate } {
  const cert = read(paths.certFile, "tls.certFile");
  const key = read(paths.keyFile, "tls.keyFile");
  const clientCa = paths.clientCaFile ? read(paths.clientCaFile, "tls.clientCaFile") : undefined;
  const certificate = parsed("tls.certFile", "a PEM certificate", () => new X509Certificate(cert));
  const privateKey = parsed("tls.keyFile", "an unencrypted PEM private key", () => createPrivateKey(key));
  if (!certificate.checkPrivateKey(privateKey))
    throw new TlsFileProblem("tls.keyFile", "does not match the certificate in tls.certFile");
  if (clientCa) parsed("tls.clientCaFile", "a PEM CA certificate", () => new X509Certificate(clientCa));
  const material = { cert, key, clientCa };
  // Whatever else Node would refuse (a broken chain after the leaf) is found here, not by a listener.
  parsed("tls.certFile", "a certificate chain Node accepts", () =>
    createSecureContext(secureContextOptions(material)),
  );
  return { material, certificate };
}

function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  const same = (x: Buffer | undefined, y: Buffer | undefined) => (x && y ? x.equals(y) : x === y);
  return same(a.cert, b.cert) && same(a.key, b.key) && same(a.clientCa, b.clientCa);
}

/** What the log says about a certificate: never key material. */
function describe(certificate: X509Certificate) {
  return { serial: certificate.serialNumber, subject: certificate.subject, validTo: certificate.validTo };
}

/** The live TLS files and how to stop watching them. */
export interface TlsFiles extends TlsSource {
  close(): void;
}

/** The first load: a problem becomes a ConfigError naming the setting. */
function loadAtStart(paths: TlsPaths, logger: Logger): TlsMaterial {
  try {
    const loaded = load(paths);
    logger.info(
      { tls: describe(loaded.certificate), mutual: paths.clientCaFile !== undefined },
      "TLS on every port",
    );
    return loaded.material;
  } catch (error) {
    throw error instanceof TlsFileProblem ? new ConfigError(error.message) : error;
  }
}

/** Loads `config.tls` when set (throws ConfigError naming the setting); undefined for plaintext. */
export function openTlsFiles(config: FulcrumConfig, logger: Logger): TlsFiles | undefined {
  const { certFile, keyFile, clientCaFile } = config.tls;
  if (!certFile || !keyFile) return undefined;
  const paths = { certFile, keyFile, clientCaFile };
  let current = loadAtStart(paths, logger);
  const listeners = new Set<(material: TlsMaterial) => void>();
  const reload = () => {
    try {
      const loaded = load(paths);
      if (sameMaterial(loaded.material, current)) return;
      current = loaded.material;
      for (const listener of listeners) listener(current);
      logger.info({ tls: describe(loaded.certificate) }, "TLS files reloaded; new connections get them");
    } catch (error) {
      logger.error(
        { problem: (error as Error).message },
        "TLS files could not be reloaded; the ports keep the previous certificate",
      );
    }
  };
  // Rotation writes the certificate and the key one after the other: reloading once the files
  // have been still for a check interval reads them as a pair, not a new certificate beside
  // the old key (which would be logged as a failure).
  let settle: NodeJS.Timeout | undefined;
  const checkMs = config.auth.reloadCheckMs;
  const stop = watchFiles([certFile, keyFile, ...(clientCaFile ? [clientCaFile] : [])], checkMs, () => {
    clearTimeout(settle);
    settle = setTimeout(reload, checkMs).unref();
  });
  return {
    current: () => current,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      stop();
      clearTimeout(settle);
      listeners.clear();
    },
  };
}
