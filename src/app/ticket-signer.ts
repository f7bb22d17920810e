import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { TicketSigner } from "../balancer/ticket-id.js";

/** Signature length in bytes (base64url-encoded in the ticket): 96 bits are plenty against forgery. */
const SIGNATURE_BYTES = 12;

/** An HMAC-SHA256 signer with a secret the replicas share. */
export function createTicketSigner(secret: string): TicketSigner {
  const mac = (body: string) =>
    createHmac("sha256", secret).update(body).digest().subarray(0, SIGNATURE_BYTES);
  return {
    sign: (body) => mac(body).toString("base64url"),
    verify(body, signature) {
      const given = Buffer.from(signature, "base64url");
      return given.length === SIGNATURE_BYTES && timingSafeEqual(given, mac(body));
    },
  };
}

/** A fresh random secret, for a replica without configured or shared one. */
export function randomTicketSecret(): string {
  return randomBytes(32).toString("base64url");
}
