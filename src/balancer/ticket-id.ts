/**
 * Ticket ids are self-describing and signed: `replica~seq~service~b1,b2~signature`,
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

export const TICKET_SEPARATOR = "~";

/** The signed part of a ticket id; `backendIds` are joined by commas. */
export function ticketBody(replica: string, seq: number, service: string, backendIds: string): string {
  return `${replica}${TICKET_SEPARATOR}${seq.toString(36)}${TICKET_SEPARATOR}${service}${TICKET_SEPARATOR}${backendIds}`;
}

/** The sequence number of a ticket id that starts with `prefix` (its replica and a separator); undefined otherwise. */
export function ticketSeq(id: string, prefix: string): number | undefined {
  if (!id.startsWith(prefix)) return undefined;
  const end = id.indexOf(TICKET_SEPARATOR, prefix.length);
  if (end < 0) return undefined;
  const seq = Number.parseInt(id.slice(prefix.length, end), 36);
  return Number.isSafeInteger(seq) && seq > 0 ? seq : undefined;
}

/** The parts of a well-formed, correctly signed ticket id; undefined otherwise. */
export function parseTicketId(signer: TicketSigner, id: string): TicketId | undefined {
  const cut = id.lastIndexOf(TICKET_SEPARATOR);
  if (cut <= 0) return undefined;
  const body = id.slice(0, cut);
  const parts = body.split(TICKET_SEPARATOR);
  if (parts.length !== 4 || !signer.verify(body, id.slice(cut + 1))) return undefined;
  const [replica, , service, ids] = parts as [string, string, string, string];
  return { replica, service, backendIds: ids ? ids.split(",") : [] };
}
