import { describe, expect, it } from "vitest";
import { grpc, grpcClients } from "../support/grpc-client.js";
import { startFulcrum } from "../support/server.js";

describe("graceful shutdown (O4)", () => {
  it("ends open Watch streams cleanly with OK and closes both ports", async () => {
    const app = await startFulcrum();
    const clients = grpcClients(app.grpcPort);
    await new Promise((resolve, reject) =>
      clients.registry.Register({ service: "s", backends: [{ address: "a:1" }] }, (e: Error | null) =>
        e ? reject(e) : resolve(e),
      ),
    );
    const stream = clients.balancer.Watch({ services: ["s"] });
    const first = await new Promise<{ event: string }>((resolve) => stream.once("data", resolve));
    expect(first.event).toBe("snapshot");
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on("status", resolve));
    stream.on("error", () => {});
    await app.close();
    expect((await status).code).toBe(grpc.status.OK);
    const refused = await fetch(`http://127.0.0.1:${app.webPort}/healthz`).then(
      () => "answered",
      () => "refused",
    );
    expect(refused).toBe("refused");
    clients.close();
  });
});
