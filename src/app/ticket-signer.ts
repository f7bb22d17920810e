import * as crypto from "node:crypto";
import type { TicketSigner } from "../balancer/ticket-id.js";

/** Signature length in bytes (base64url-encoded in the ticket): 96 bits are plenty against forgery. */
const SIGNATURE_BYTES = 12;
/** base64url of SIGNATURE_BYTES bytes: 12 bytes are 16 characters, no padding. */
const SIGNATURE_CHARS = 16;
/** SHA-256's block size: HMAC pads (or hashes) the key to this many bytes. */
const BLOCK_BYTES = 64;
const SHA256_BYTES = 32;
/** Secrets whose pads are kept; secrets change rarely (a Redis that restarted empty). */
const MAX_KEPT_SECRETS = 16;

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

/** A truncated HMAC-SHA256 of a ticket body, base64url. */
type Mac = (body: string) => string;

/** The key XOR `pad`, padded to a block. */
function paddedKey(key: Buffer, pad: number): Buffer {
  const block = Buffer.alloc(BLOCK_BYTES);
  key.copy(block);
  for (let i = 0; i < BLOCK_BYTES; i++) block[i]! ^= pad;
  return block;
}

const isAscii = (bytes: Buffer) => bytes.every((byte) => byte < 0x80);

/** node's Hmac, the key imported once: for keys the one-shot path below cannot take. */
function hmacObjectMac(secret: string): Mac {
  const key = crypto.createSecretKey(Buffer.from(secret, "utf8"));
  return (body) =>
    crypto.createHmac("sha256", key).update(body).digest("base64url").slice(0, SIGNATURE_CHARS);
}

/**
 * HMAC-SHA256 (RFC 2104) by two one-shot hashes over precomputed pads: one native call each,
 * no Hmac object or key import per ticket (which made the MAC the largest part of a Select).
 * The inner pad is prepended as a string, which needs its bytes to be ASCII (always so for the
 * base64url secrets Fulcrum makes, since both pads keep the high bit of each byte); other keys,
 * or a node without crypto.hash (before 20.12), take node's Hmac. Same bytes either way.
 */
function macWith(secret: string): Mac {
  const oneShot = crypto.hash;
  let key = Buffer.from(secret, "utf8");
  if (typeof oneShot !== "function") return hmacObjectMac(secret);
  if (key.length > BLOCK_BYTES) key = Buffer.from(oneShot("sha256", key, "binary"), "latin1");
  const inner = paddedKey(key, 0x36);
  if (!isAscii(inner)) return hmacObjectMac(secret);
  const innerPrefix = inner.toString("latin1");
  const outer = Buffer.alloc(BLOCK_BYTES + SHA256_BYTES);
  paddedKey(key, 0x5c).copy(outer);
  return (body) => {
    // "binary" (latin1) text holds the digest's bytes one per character: no Buffer per call.
    outer.write(oneShot("sha256", innerPrefix + body, "binary"), BLOCK_BYTES, "latin1");
    return oneShot("sha256", outer, "base64url").slice(0, SIGNATURE_CHARS);
  };
}

/** An HMAC-SHA256 signer over the secrets the replicas share; each secret's pads are computed once. */
export function createTicketSigner(source: TicketSecretSource): TicketSigner {
  const macs = new Map<string, Mac>();
  const macOf = (secret: string): Mac => {
    let mac = macs.get(secret);
    if (!mac) {
      if (macs.size >= MAX_KEPT_SECRETS) macs.clear();
      mac = macWith(secret);
      macs.set(secret, mac);
    }
    return mac;
  };
  return {
    sign: (body) => macOf(source.current().signing)(body),
    verify(body, signature) {
      const given = Buffer.from(signature, "base64url");
      if (given.length !== SIGNATURE_BYTES) return false;
      return source
        .current()
        .accepted.some((secret) =>
          crypto.timingSafeEqual(given, Buffer.from(macOf(secret)(body), "base64url")),
        );
    },
  };
}

/** A fresh random secret, for a replica without configured or shared one. */
export function randomTicketSecret(): string {
  return crypto.randomBytes(32).toString("base64url");
}
