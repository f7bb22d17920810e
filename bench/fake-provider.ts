/**
 * Fake rate-limited providers on loopback for the `llm-pool` bench: one HTTP server holding
 * several API keys, each enforcing its own limits the way LLM providers do, with a true
 * sliding window (a log of every admitted call: any `windowMs` of time admits at most
 * `limit` units per dimension). An admitted call answers 200 after `latencyMs`, a refused one
 * answers 429 at once with `Retry-After` (seconds, and `retry-after-ms`, the exact wait) and
 * both answer the key's remaining units in `x-ratelimit-remaining-<dimension>` headers.
 *
 * A call is `POST /<key>` with header `x-tokens: <n>`: the tokens the call really uses, which
 * the provider counts at admission (the gateway only estimates them beforehand).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Limits of every key: units per window for each dimension. */
export interface ProviderLimits {
  readonly windowMs: number;
  readonly requests: number;
  readonly tokens: number;
}

/** What the providers saw, per key and in total. */
export interface ProviderCounts {
  admittedRequests: number;
  admittedTokens: number;
  refused: number;
}

interface Entry {
  readonly atMs: number;
  readonly tokens: number;
}

/** One key's true sliding log. */
class KeyWindow {
  private log: Entry[] = [];
  private head = 0;

  constructor(private readonly limits: ProviderLimits) {}

  private prune(nowMs: number): void {
    while (this.head < this.log.length && this.log[this.head]!.atMs <= nowMs - this.limits.windowMs)
      this.head++;
    if (this.head > 1024) {
      this.log = this.log.slice(this.head);
      this.head = 0;
    }
  }

  private used(): { requests: number; tokens: number } {
    let tokens = 0;
    for (let i = this.head; i < this.log.length; i++) tokens += this.log[i]!.tokens;
    return { requests: this.log.length - this.head, tokens };
  }

  /** Admits the call or says how long until it would fit; remaining after the decision. */
  tryAdmit(
    nowMs: number,
    tokens: number,
  ): { ok: boolean; retryAfterMs: number; remaining: { requests: number; tokens: number } } {
    this.prune(nowMs);
    const used = this.used();
    const fits = used.requests + 1 <= this.limits.requests && used.tokens + tokens <= this.limits.tokens;
    if (fits) {
      this.log.push({ atMs: nowMs, tokens });
      return {
        ok: true,
        retryAfterMs: 0,
        remaining: {
          requests: this.limits.requests - used.requests - 1,
          tokens: this.limits.tokens - used.tokens - tokens,
        },
      };
    }
    // The first moment both dimensions fit: walk the log until enough has left.
    let requests = used.requests;
    let held = used.tokens;
    let retryAfterMs = this.limits.windowMs;
    for (let i = this.head; i < this.log.length; i++) {
      requests -= 1;
      held -= this.log[i]!.tokens;
      if (requests + 1 <= this.limits.requests && held + tokens <= this.limits.tokens) {
        retryAfterMs = Math.max(1, Math.ceil(this.log[i]!.atMs + this.limits.windowMs - nowMs));
        break;
      }
    }
    return {
      ok: false,
      retryAfterMs,
      remaining: {
        requests: Math.max(0, this.limits.requests - used.requests),
        tokens: Math.max(0, this.limits.tokens - used.tokens),
      },
    };
  }
}

/** A running set of fake provider keys. */
export interface FakeProviders {
  readonly port: number;
  /** Counts since the last {@link FakeProviders.reset}. */
  readonly counts: ProviderCounts;
  /** Forgets every key's window and zeroes the counts (a fresh pool for the next run). */
  reset(): void;
  close(): Promise<void>;
}

/** Starts the providers on a free loopback port; `latencyMs` is how long an admitted call takes. */
export async function startFakeProviders(
  limits: ProviderLimits,
  latencyMs: () => number,
): Promise<FakeProviders> {
  let keys = new Map<string, KeyWindow>();
  const counts: ProviderCounts = { admittedRequests: 0, admittedTokens: 0, refused: 0 };
  const server: Server = createServer((request, response) => {
    request.resume();
    const key = (request.url ?? "/").slice(1);
    let window = keys.get(key);
    if (!window) {
      window = new KeyWindow(limits);
      keys.set(key, window);
    }
    const tokens = Number(request.headers["x-tokens"] ?? 0);
    const decision = window.tryAdmit(performance.now(), tokens);
    response.setHeader("x-ratelimit-remaining-requests", String(decision.remaining.requests));
    response.setHeader("x-ratelimit-remaining-tokens", String(decision.remaining.tokens));
    if (!decision.ok) {
      counts.refused++;
      response.statusCode = 429;
      response.setHeader("retry-after", String(Math.ceil(decision.retryAfterMs / 1000)));
      response.setHeader("retry-after-ms", String(decision.retryAfterMs));
      response.end();
      return;
    }
    counts.admittedRequests++;
    counts.admittedTokens += tokens;
    setTimeout(() => response.end("ok"), latencyMs());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    counts,
    reset() {
      keys = new Map();
      counts.admittedRequests = 0;
      counts.admittedTokens = 0;
      counts.refused = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
