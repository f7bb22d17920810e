/**
 * Certificates for TLS tests, made with the openssl command line (Debian `openssl`): a CA,
 * leaf certificates it signs (server with SANs for 127.0.0.1 and localhost, clients with a CN),
 * expired ones (`-days -1`), and a second, untrusted CA.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A certificate and key on disk, and their PEM text. */
export interface IssuedCert {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** A test certificate authority in a temporary directory. */
export interface TestCa {
  readonly dir: string;
  readonly caFile: string;
  readonly ca: Buffer;
  /** Issues a leaf certificate: `days` negative makes it already expired. */
  issue(name: string, options?: { san?: string; days?: number; file?: string }): Promise<IssuedCert>;
  /** Removes the directory. */
  remove(): void;
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** Makes a CA named `name` in a fresh temporary directory. */
export async function createTestCa(name = "fulcrum-test-ca"): Promise<TestCa> {
  const dir = mkdtempSync(join(tmpdir(), "fulcrum-certs-"));
  const caFile = join(dir, "ca.pem");
  const caKey = join(dir, "ca.key");
  await run("openssl", [
    "req",
    "-x509",
    ...EC_KEY,
    "-keyout",
    caKey,
    "-out",
    caFile,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
  ]);
  let serial = 0;
  return {
    dir,
    caFile,
    ca: readFileSync(caFile),
    async issue(leaf, options = {}) {
      const base = join(dir, options.file ?? `${leaf}-${++serial}`);
      const ext = `${base}.ext`;
      writeFileSync(
        ext,
        [
          "basicConstraints=CA:FALSE",
          "keyUsage=digitalSignature",
          "extendedKeyUsage=serverAuth,clientAuth",
          ...(options.san ? [`subjectAltName=${options.san}`] : []),
        ].join("\n"),
      );
      await run("openssl", [
        "req",
        ...EC_KEY,
        "-keyout",
        `${base}.key`,
        "-out",
        `${base}.csr`,
        "-subj",
        `/CN=${leaf}`,
      ]);
      await run("openssl", [
        "x509",
        "-req",
        "-in",
        `${base}.csr`,
        "-CA",
        caFile,
        "-CAkey",
        caKey,
        "-CAcreateserial",
        "-days",
        String(options.days ?? 2),
        "-extfile",
        ext,
        "-out",
        `${base}.pem`,
      ]);
      return {
        certFile: `${base}.pem`,
        keyFile: `${base}.key`,
        cert: readFileSync(`${base}.pem`),
        key: readFileSync(`${base}.key`),
      };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The SAN every test server certificate carries: loopback by IP and by name. */
export const LOOPBACK_SAN = "IP:127.0.0.1,DNS:localhost";
