/**
 * O10 in the registry: an operator's UNHEALTHY is a shared maintenance flag that the health
 * policy cannot lift, and that every replica's snapshot keeps out of every route and probe.
 */
import { describe, expect, it } from "vitest";
import { twoReplicas } from "./wiring.js";

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("maintenance in the registry", () => {
  it("O10 an operator's UNHEALTHY reaches every replica as maintenance; policy transitions cannot lift it; an operator's HEALTHY does", async () => {
    const { a, b } = await twoReplicas();
    await a.registry.register({
      service: "s",
      // Unhealthy allowed and fail-open on: neither may route to a backend in maintenance.
      config: {
        health: { allowedStates: ["healthy", "degraded", "unhealthy", "recovering"] },
        load: { failOpen: true },
      },
      backends: [
        { id: "x", address: "x:1" },
        { id: "y", address: "y:1" },
      ],
      mode: "replace",
    });
    await b.registry.setHealth("s", "x", "unhealthy", "maintenance", "operator");
    await flush();
    const onA = a.services.find("s")!;
    expect(onA.backends.get("x")).toMatchObject({ health: "unhealthy", maintenance: true });
    expect(onA.snapshot.routes.flatMap((r) => r.pool.backends.map((x) => x.spec.id))).toEqual(["y"]);
    expect(onA.snapshot.unhealthy).toEqual([]);
    expect(a.registry.describe("s").backends[0]).toMatchObject({ maintenance: true });

    await a.registry.setHealth("s", "x", "recovering", "1 consecutive successes", "policy");
    await flush();
    expect(b.services.find("s")!.backends.get("x")).toMatchObject({ health: "unhealthy", maintenance: true });

    await a.registry.setHealth("s", "x", "healthy", "maintenance over", "operator");
    await flush();
    expect(b.services.find("s")!.backends.get("x")).toMatchObject({ health: "healthy", maintenance: false });
    expect(b.services.find("s")!.snapshot.routes[0]?.pool.backends.map((x) => x.spec.id)).toEqual(["x", "y"]);
  });

  it("O10 an operator's UNHEALTHY on a backend the policy already made Unhealthy still holds it (a versioned change)", async () => {
    const { a } = await twoReplicas();
    await a.registry.register({
      service: "s",
      config: undefined,
      backends: [{ id: "x", address: "x:1" }],
      mode: "replace",
    });
    await a.registry.setHealth("s", "x", "unhealthy", "3 consecutive failures", "policy");
    expect(a.services.find("s")!.snapshot.unhealthy.map((x) => x.spec.id)).toEqual(["x"]);
    const before = a.registry.describe("s").version;
    const { version } = await a.registry.setHealth("s", "x", "unhealthy", "maintenance", "operator");
    expect(version).toBe(before + 1);
    expect(a.services.find("s")!.snapshot.unhealthy).toEqual([]);
  });
});
