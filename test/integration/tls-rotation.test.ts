/**
 * A1: certificates rotate without a restart. Replacing tls.certFile and tls.keyFile (renamed
 * into place, as certificate tools do) makes every port present the new certificate to new
 * connections; a replacement that does not load is logged in one line and the ports keep
 * presenting the certificate they had.
 */
import { X509Certificate } from "node:crypto";
import { copyFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { createTestCa, type IssuedCert, LOOPBACK_SAN, type TestCa } from "../support/certs.js";
import { eventually } from "../support/eventually.js";
import { startFulcrum } from "../support/server.js";
import { type ClientTls, connectTlsClients, grpcTlsClients, handshake } from "../support/tls.js";

let ca: TestCa;
let first: IssuedCert;
let second: IssuedCert;
let app: App;
let trust: ClientTls;
const logLines: { level: number; msg: string; problem?: string }[] = [];
const certFile = () => join(ca.dir, "live.pem");
const keyFile = () => join(ca.dir, "live.key");

/** Puts `text` at `path` the way deploy tools do: write beside it, then rename over it. */
function replace(path: string, text: Buffer | string): void {
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

/** The fingerprint each port presents to a new connection. */
async function presented(): Promise<Record<string, string>> {
  const ports = { grpc: app.grpcPort, web: app.webPort, xds: app.xdsPort };
  const seen: Record<string, string> = {};
  for (const [name, port] of Object.entries(ports))
    seen[name] = (await handshake(port, trust)).fingerprint256;
  return seen;
}

const everywhere = (fingerprint: string) => ({ grpc: fingerprint, web: fingerprint, xds: fingerprint });

/** The fingerprint of an issued certificate as a handshake reports it. */
const fingerprintOf = (cert: IssuedCert) => new X509Certificate(cert.cert).fingerprint256;

beforeAll(async () => {
  ca = await createTestCa();
  first = await ca.issue("fulcrum", { san: LOOPBACK_SAN });
  second = await ca.issue("fulcrum", { san: LOOPBACK_SAN });
  trust = { ca: ca.ca };
  copyFileSync(first.certFile, certFile());
  copyFileSync(first.keyFile, keyFile());
  const logger = pino({ level: "info" }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
  app = await startFulcrum(
    { tls: { certFile: certFile(), keyFile: keyFile() }, auth: { reloadCheckMs: 50 } },
    { logger },
  );
});
afterAll(async () => {
  await app?.close();
  ca?.remove();
});

describe("certificate rotation without a restart (A1)", { timeout: 60_000 }, () => {
  it("A1: replaced certificate files reach new connections on every port; calls keep working", async () => {
    expect(await presented()).toEqual(everywhere(fingerprintOf(first)));
    replace(certFile(), second.cert);
    replace(keyFile(), second.key);
    const rotated = everywhere(fingerprintOf(second));
    await eventually(async () => {
      const seen = await presented();
      return JSON.stringify(seen) === JSON.stringify(rotated) ? seen : undefined;
    }, 20_000);
    await grpcTlsClients(app.grpcPort, trust).registry.register({
      service: "rotated",
      backends: [{ id: "b0", address: "10.0.0.1:80" }],
    });
    for (const version of ["1.1", "2"] as const) {
      const answer = await connectTlsClients(app.webPort, trust, version).balancer.select({
        service: "rotated",
      });
      expect(answer.backends[0]?.id).toBe("b0");
    }
  });

  it("A1: a replacement that does not load is logged in one line and the ports keep their certificate", async () => {
    const kept = everywhere(fingerprintOf(second));
    expect(await presented()).toEqual(kept);
    const failed = () => logLines.filter((line) => line.msg.startsWith("TLS files could not be reloaded"));
    expect(failed()).toEqual([]);
    replace(certFile(), "-----BEGIN CERTIFICATE-----\ntruncated");
    await eventually(async () => (failed().length > 0 ? true : undefined), 20_000);
    expect(failed().map((line) => line.problem)).toEqual(["tls.certFile: does not hold a PEM certificate"]);
    expect(await presented()).toEqual(kept);
    const answer = await grpcTlsClients(app.grpcPort, trust).balancer.select({ service: "rotated" });
    expect(answer.backends[0]?.id).toBe("b0");
  });
});
