/**
 * Who may call (behaviour.md A2): the parsed `auth.tokensFile`. Tokens are stored as the hex
 * SHA-256 of the token, never the token; a presented token is hashed and compared with every
 * stored hash in constant time (crypto.timingSafeEqual, no early exit), so neither the
 * comparison nor its position leaks. An mTLS client certificate's identity (a SAN or the CN)
 * may be mapped to scopes in the same file.
 *
 * ```yaml
 * tokens:
 *   - name: deployer
 *     sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
 *     scopes: ["register:payments-*", "health:payments-*"]
 * certificates:
 *   - identity: gateway.internal     # DNS/URI/IP SAN or CN of a client certificate
 *     scopes: ["select:*", "report:*"]
 * ```
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { type Grants, grantsOf, scopeProblem } from "./scopes.js";

const scopeList = z.array(
  z.string().superRefine((scope, ctx) => {
    const problem = scopeProblem(scope);
    if (problem) ctx.addIssue({ code: "custom", message: `scope "${scope}" ${problem}` });
  }),
);

const fileSchema = z.strictObject({
  tokens: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        sha256: z
          .string()
          .regex(/^[0-9a-fA-F]{64}$/, "must be the 64 hex digits of the token's SHA-256")
          .transform((hex) => hex.toLowerCase()),
        scopes: scopeList,
      }),
    )
    .default([]),
  certificates: z.array(z.strictObject({ identity: z.string().min(1), scopes: scopeList })).default([]),
});

/** An authenticated caller: a name for logs (never the token) and what it may do. */
export interface Principal {
  readonly name: string;
  readonly grants: Grants;
}

/** What a call presented. */
export interface Credentials {
  /** The bearer token, if any. */
  readonly token?: string | undefined;
  /** The verified client certificate's identities (SANs and CN), if any. */
  readonly certificateIdentities?: readonly string[] | undefined;
}

/** The loaded table. */
export interface AccessTable {
  /** Tokens and certificate identities known, for the reload log line. */
  readonly size: number;
  /** The principal a call's credentials prove; undefined when they prove none. */
  authenticate(credentials: Credentials): Principal | undefined;
}

/** Thrown for a tokens file that does not parse; the message names the bad entries. */
export class AccessTableError extends Error {
  override readonly name = "AccessTableError";
}

/** The hex SHA-256 of a token, as the tokens file stores it. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Parses a tokens file's YAML text. */
export function parseAccessTable(text: string): AccessTable {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    throw new AccessTableError(`not YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success)
    throw new AccessTableError(
      parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; "),
    );
  const tokens = parsed.data.tokens.map((entry) => ({
    name: entry.name,
    hash: Buffer.from(entry.sha256, "hex"),
    grants: grantsOf(entry.scopes),
  }));
  const certificates = new Map(
    parsed.data.certificates.map((entry) => [
      entry.identity,
      { name: `certificate ${entry.identity}`, grants: grantsOf(entry.scopes) },
    ]),
  );
  return {
    size: tokens.length + certificates.size,
    authenticate(credentials) {
      if (credentials.token) {
        const presented = createHash("sha256").update(credentials.token, "utf8").digest();
        let found: Principal | undefined;
        for (const entry of tokens) if (timingSafeEqual(presented, entry.hash) && !found) found = entry;
        return found;
      }
      for (const identity of credentials.certificateIdentities ?? []) {
        const principal = certificates.get(identity);
        if (principal) return principal;
      }
      return undefined;
    },
  };
}
