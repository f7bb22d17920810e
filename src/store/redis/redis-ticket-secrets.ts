/**
 * The ticket signing secret on Redis. The first replica on an empty Redis
 * stores its secret (SET NX); later ones read it. Every secret a replica ever signed with is
 * also added to a set, so one that a replica minted while Redis was empty (and the other
 * replicas were still reconnecting) stays accepted everywhere. On every reconnect, and every
 * `syncIntervalMs` in between, a replica re-publishes what it holds: a Redis that restarted
 * empty gets the running replicas' secret back instead of a new replica minting another, and a
 * replica that finds a different shared secret signs with that one from then on while still
 * accepting its own. Secret values are never logged.
 */
import type { RedisClient } from "./redis-client.js";

/** At most this many secrets are accepted at once: the newest ones seen. */
const MAX_ACCEPTED = 16;

/** The secrets of one replica (structurally app/ticket-signer.ts TicketSecrets). */
export interface SharedTicketSecrets {
  readonly signing: string;
  readonly accepted: readonly string[];
}

/** Options of the shared secret. */
export interface RedisTicketSecretsOptions {
  readonly client: RedisClient;
  readonly prefix: string;
  /** The secret this replica offers when Redis holds none. */
  readonly candidate: string;
}

/** The ticket secrets one replica shares with the others through Redis. */
export class RedisTicketSecrets {
  private secrets: SharedTicketSecrets;
  /** Every secret this replica has signed with: the ones it re-publishes. */
  private readonly signedWith = new Set<string>();
  private readonly signingKey: string;
  private readonly acceptedKey: string;
  private readonly onReady = () => {
    this.sync().catch(() => {
      // Redis went away again; the next reconnect or interval tries again.
    });
  };

  constructor(private readonly options: RedisTicketSecretsOptions) {
    this.secrets = { signing: options.candidate, accepted: [options.candidate] };
    this.signingKey = `${options.prefix}:ticket-secret`;
    this.acceptedKey = `${options.prefix}:ticket-secrets`;
  }

  /** The secrets in use now. */
  current(): SharedTicketSecrets {
    return this.secrets;
  }

  /** Agrees on the shared secret once, then again on every reconnect; resolves after the first. */
  async start(): Promise<void> {
    await this.sync();
    this.options.client.on("ready", this.onReady);
  }

  /** Stops following reconnects. */
  close(): void {
    this.options.client.off("ready", this.onReady);
  }

  /**
   * Re-seeds Redis with the secret this replica signs with (unless Redis holds one), adopts the
   * one Redis holds for signing, and accepts every secret any replica published.
   */
  async sync(): Promise<void> {
    const { client } = this.options;
    const own = this.secrets;
    await client.set(this.signingKey, own.signing, "NX");
    const shared = await client.get(this.signingKey);
    if (!shared) throw new Error(`redis lost ${this.signingKey} right after writing it`);
    // Only secrets that signed tickets are published: a candidate that lost SET NX never signed
    // anything, and publishing it on every start would grow the set without bound.
    this.signedWith.add(shared);
    await client.sadd(this.acceptedKey, ...this.signedWith);
    const published = await client.smembers(this.acceptedKey);
    const accepted = [shared, ...own.accepted, ...published.filter((s) => !own.accepted.includes(s))];
    this.secrets = { signing: shared, accepted: [...new Set(accepted)].slice(0, MAX_ACCEPTED) };
  }
}
