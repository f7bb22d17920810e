/**
 * Ticket ids are self-describing and signed (issue 5): `replica~seq~service~b1,b2~signature`,
 * so a Report may land on any replica. The replica that receives it can tell which backends
 * the call went to (health and latency are applied there) and which replica holds the
 * in-flight slot and the quota reservation (the release is relayed there). The signature, an
 * HMAC with a secret the replicas share, keeps callers from forging tickets for backends they
 * were never given. Names and ids cannot contain `~` or `,` (registry/resolve-backends.ts).
 */

/** Signs and checks ticket bodies; implemented with an HMAC in app/. */
export interface TicketSigner {
  sign(body: string): string;
  verify(body: string, signature: string): boolean;
}

/** A parsed ticket id. */
export interface TicketId {
  readonly replica: string;
  readonly service: string;
  readonly backendIds: readonly string[];
}

const SEPARATOR = "~";

/** The signed id of a ticket. */
export function formatTicketId(
  signer: TicketSigner,
  replica: string,
  seq: number,
  service: string,
  backendIds: readonly string[],
): string {
  const body = `${replica}${SEPARATOR}${seq.toString(36)}${SEPARATOR}${service}${SEPARATOR}${backendIds.join(",")}`;
  return `${body}${SEPARATOR}${signer.sign(body)}`;
}

/** The parts of a well-formed, correctly signed ticket id; undefined otherwise. */
export function parseTicketId(signer: TicketSigner, id: string): TicketId | undefined {
  const cut = id.lastIndexOf(SEPARATOR);
  if (cut <= 0) return undefined;
  const body = id.slice(0, cut);
  const parts = body.split(SEPARATOR);
  if (parts.length !== 4 || !signer.verify(body, id.slice(cut + 1))) return undefined;
  const [replica, , service, ids] = parts as [string, string, string, string];
  return { replica, service, backendIds: ids ? ids.split(",") : [] };
}
