/** A label's size is capped in bytes (limits.maxLabelBytes), checked at Register naming the field. */
import { describe, expect, it } from "vitest";
import { DEFAULT_REGISTRY_LIMITS } from "../../../src/model/limits.js";
import { FulcrumError } from "../../../src/shared/errors.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { MemoryRegistryLog } from "../../../src/store/memory/memory-registry-log.js";
import { wiredRegistry } from "./wiring.js";

function registry() {
  return wiredRegistry({
    clock: new ManualClock(),
    limits: { ...DEFAULT_REGISTRY_LIMITS, maxLabelBytes: 16 },
    log: new MemoryRegistryLog(),
    onEvent: () => {},
    onBackgroundError: (message: string) => {
      throw new Error(message);
    },
  }).registry;
}

const register = (r: ReturnType<typeof registry>, labels: Record<string, string>) =>
  r.register({
    service: "labels",
    mode: "replace",
    config: undefined,
    backends: [{ id: "b0", address: "10.0.0.1:80", labels }],
  });

describe("label size cap", () => {
  it("R1 a label over max_label_bytes (key + value, UTF-8) is INVALID_ARGUMENT naming the field; nothing is registered", async () => {
    const r = registry();
    await r.start();
    const error = await register(r, { zone: "é".repeat(7) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FulcrumError);
    expect((error as FulcrumError).code).toBe("invalid_argument");
    expect((error as FulcrumError).message).toMatch(/^backends\[0\]\.labels: label "zone" is 18 bytes/);
    expect(r.names()).toEqual([]);
    await register(r, { zone: "eu-west-1ab" });
    expect(r.get("labels").backends[0]?.spec.labels).toEqual({ zone: "eu-west-1ab" });
  });
});
