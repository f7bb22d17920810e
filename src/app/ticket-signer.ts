import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { TicketSigner } from "../balancer/ticket-id.js";

/** Signature length in bytes (base64url-encoded in the ticket): 96 bits are plenty against forgery. */
const SIGNATURE_BYTES = 12;

/**
 * The secrets of one replica: it signs with `signing` and accepts a signature made with any
 * of `accepted` (which includes `signing`). Several are accepted when replicas came to hold
 * different secrets (a Redis that restarted empty while a new replica started) until they
 * converge on the shared one.
 */
export interface TicketSecrets {
  readonly signing: string;
  readonly accepted: readonly string[];
}

/** Where a signer reads its secrets; read on every call, so a change applies at once. */
export interface TicketSecretSource {
  current(): TicketSecrets;
}

/** A source that never changes: a configured secret, or one replica without Redis. */
export function fixedTicketSecret(secret: string): TicketSecretSource {
  const secrets = { signing: secret, accepted: [secret] };
  return { current: () => secrets };
}

const mac = (secret: string, body: string) =>
  createHmac("sha256", secret).update(body).digest().subarray(0, SIGNATURE_BYTES);

/** An HMAC-SHA256 signer over the secrets the replicas share. */
export function createTicketSigner(source: TicketSecretSource): TicketSigner {
  return {
    sign: (body) => mac(source.current().signing, body).toString("base64url"),
    verify(body, signature) {
      const given = Buffer.from(signature, "base64url");
      if (given.length !== SIGNATURE_BYTES) return false;
      return source.current().accepted.some((secret) => timingSafeEqual(given, mac(secret, body)));
    },
  };
}

/** A fresh random secret, for a replica without configured or shared one. */
export function randomTicketSecret(): string {
  return randomBytes(32).toString("base64url");
}
