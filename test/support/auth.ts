/**
 * Tokens files and authenticated clients for authorization tests (behaviour.md A2).
 */
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { expect } from "vitest";
import { BalancerService } from "../../gen/fulcrum/v1/balancer_pb.js";
import { RegistryService } from "../../gen/fulcrum/v1/registry_pb.js";
import { tokenHash } from "../../src/auth/access-table.js";
import { bearerToken, clientTransport } from "../../src/cli/client-transport.js";

/** One token of a test tokens file. */
export interface TestToken {
  readonly name: string;
  readonly token: string;
  readonly scopes: readonly string[];
}

/** YAML of a tokens file holding `tokens` (hashed) and certificate identities. */
export function tokensYaml(
  tokens: readonly TestToken[],
  certificates: readonly { identity: string; scopes: readonly string[] }[] = [],
): string {
  const lines = tokens.length > 0 ? ["tokens:"] : [];
  for (const t of tokens)
    lines.push(
      `  - name: ${t.name}`,
      `    sha256: ${tokenHash(t.token)}`,
      `    scopes: ${JSON.stringify(t.scopes)}`,
    );
  if (certificates.length > 0) lines.push("certificates:");
  for (const c of certificates)
    lines.push(`  - identity: ${c.identity}`, `    scopes: ${JSON.stringify(c.scopes)}`);
  return `${lines.join("\n")}\n`;
}

/** A tokens file in a temporary directory; `write` replaces it atomically (rename), as deploy tools do. */
export function tokensFile(yaml: string): { path: string; write(yaml: string): void } {
  const dir = mkdtempSync(join(tmpdir(), "fulcrum-tokens-"));
  const path = join(dir, "tokens.yaml");
  const write = (text: string) => {
    writeFileSync(`${path}.new`, text);
    renameSync(`${path}.new`, path);
  };
  write(yaml);
  return { path, write };
}

/** Registry and balancer clients over one transport. */
export function clientsOver(transport: Transport) {
  return {
    registry: createClient(RegistryService, transport),
    balancer: createClient(BalancerService, transport),
  };
}

/** gRPC clients (h2c) to a port, with an optional bearer token. */
export function grpcClientsWithToken(port: number, token?: string) {
  return clientsOver(clientTransport({ server: `http://127.0.0.1:${port}`, token }));
}

/** Connect-protocol clients (h2c, so streams work) to the web port, with an optional bearer token. */
export function connectClientsWithToken(port: number, token?: string) {
  return clientsOver(
    createConnectTransport({
      baseUrl: `http://127.0.0.1:${port}`,
      httpVersion: "2",
      interceptors: token ? [bearerToken(token)] : [],
    }),
  );
}

/** The ConnectError `promise` fails with (fails the test when it succeeds). */
export async function failureOf(promise: Promise<unknown>): Promise<ConnectError | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error),
  );
}

/** Asserts `promise` fails with `code`; returns the error. */
export async function expectCode(promise: Promise<unknown>, code: Code): Promise<ConnectError> {
  const error = await failureOf(promise);
  expect(error, `expected ${Code[code]}`).toBeInstanceOf(ConnectError);
  expect(Code[error!.code]).toBe(Code[code]);
  return error!;
}

/** Asserts `promise` is not refused by authorization (it may fail otherwise, e.g. NOT_FOUND). */
export async function expectAuthorized(promise: Promise<unknown>): Promise<void> {
  const error = await failureOf(promise);
  if (error)
    expect([Code[Code.Unauthenticated], Code[Code.PermissionDenied]]).not.toContain(Code[error.code]);
}
