/**
 * A bare ADS stream over grpc-js with the same vendored Envoy protos, for what the real
 * clients do not do on demand: NACK a response, speak the delta protocol, compare what two
 * replicas serve. It reads responses in order; every wait is bounded.
 */
import * as grpc from "@grpc/grpc-js";
import { loadAdsService, TYPE_URL } from "../../src/xds/xds-protos.js";

/** A decoded response: DiscoveryResponse or DeltaDiscoveryResponse, Any fields expanded. */
// biome-ignore lint/suspicious/noExplicitAny: decoded protos are plain objects read field by field.
export type AdsResponse = Record<string, any>;

export { TYPE_URL };

/** One open ADS stream. */
export interface AdsProbe {
  send(request: object): void;
  /** The next response (in arrival order) that `accept` takes, skipping others; bounded wait. */
  next(accept?: (response: AdsResponse) => boolean, ms?: number): Promise<AdsResponse>;
  close(): void;
  /** The status the stream ended with; resolves when the server ends it. */
  readonly ended: Promise<grpc.StatusObject>;
}

const Client = grpc.makeGenericClientConstructor(loadAdsService(), "AggregatedDiscoveryService");

/** Opens a state-of-the-world ("sotw") or "delta" stream to an xDS port (plaintext unless `credentials`). */
export function openAdsProbe(
  port: number,
  protocol: "sotw" | "delta",
  token?: string,
  credentials = grpc.credentials.createInsecure(),
): AdsProbe {
  const client = new Client(`127.0.0.1:${port}`, credentials);
  const method = protocol === "sotw" ? "StreamAggregatedResources" : "DeltaAggregatedResources";
  const metadata = new grpc.Metadata();
  if (token) metadata.set("authorization", `Bearer ${token}`);
  const call = (
    client as unknown as Record<string, (m: grpc.Metadata) => grpc.ClientDuplexStream<object, AdsResponse>>
  )[method]!.call(client, metadata);
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  const received: AdsResponse[] = [];
  let wake: (() => void) | undefined;
  call.on("data", (response: AdsResponse) => {
    received.push(response);
    wake?.();
  });
  call.on("error", () => {});
  return {
    send: (request) => call.write(request),
    async next(accept = () => true, ms = 10_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const index = received.findIndex(accept);
        if (index >= 0) return received.splice(0, index + 1).at(-1)!;
        received.length = 0;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching ${protocol} response within ${ms} ms`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.min(left, 200));
        });
      }
    },
    close() {
      call.cancel();
      client.close();
    },
    ended,
  };
}
