import { describe, expect, it } from "vitest";
import { deleteTiers, TieredWriteError, writeL2First, writeTiers } from "../../../src/cache/write-policy.js";
import { flush, run, setup } from "./cache-harness.js";

const ok = () => {};
const boom = (message: string) => () => {
  throw new Error(message);
};
const later =
  (ms: number, log: string[], name: string, fail = false) =>
  async () => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    log.push(name);
    if (fail) throw new Error(`${name} down`);
  };

describe("C3 write policies", () => {
  it("C3 Sequential: L1 then L2 (L2 starts only after L1 finished; the write waits for L2)", async () => {
    const h = setup({ writePolicy: "sequential" });
    h.l2.delay("set", 100);
    let done = false;
    const write = h.cache.set("k", "v").then(() => {
      done = true;
    });
    await flush();
    expect(await h.cache.get("k")).toBe("v");
    expect(h.l2.log).toEqual(["set:start t:k"]);
    await run(h.clock, 99, 11);
    expect(done).toBe(false);
    await run(h.clock, 1);
    await write;
    expect(h.l2.log).toEqual(["set:start t:k", "set:end t:k"]);
    const log: string[] = [];
    await writeTiers("sequential", later(5, log, "l1"), later(1, log, "l2")).done;
    expect(log).toEqual(["l1", "l2"]);
  });

  it("C3 Sequential: an L1 failure stops the write before L2; an L2 failure is tolerated", async () => {
    const log: string[] = [];
    const w = writeTiers("sequential", boom("l1 full"), later(1, log, "l2"));
    await expect(w.done).rejects.toThrow("l1 full");
    expect(await w.settled).toEqual({ l1: false, l2: false });
    expect(log).toEqual([]);
    const tolerated = writeTiers("sequential", ok, later(1, log, "l2", true));
    await expect(tolerated.done).resolves.toBeUndefined();
    expect(await tolerated.settled).toEqual({ l1: true, l2: false });
  });

  it("C3 OptimisticParallel (default): both tiers start at once", async () => {
    const h = setup();
    expect(h.cache.options.writePolicy).toBe("optimisticParallel");
    h.l2.delay("set", 100);
    const write = h.cache.set("k", "v");
    await flush();
    expect(await h.cache.get("k")).toBe("v"); // L1 already written while L2 is in flight
    expect(h.l2.log).toEqual(["set:start t:k"]);
    await run(h.clock, 100, 10);
    await write;
    expect(h.l2.log).toEqual(["set:start t:k", "set:end t:k"]);
  });

  it("C3 OptimisticParallel: success if either tier succeeds", async () => {
    const log: string[] = [];
    await expect(
      writeTiers("optimisticParallel", ok, later(1, log, "l2", true)).done,
    ).resolves.toBeUndefined();
    await expect(
      writeTiers("optimisticParallel", boom("l1"), later(1, log, "l2")).done,
    ).resolves.toBeUndefined();
    const h = setup();
    h.l2.failNext("set", "connection");
    await expect(h.cache.set("k", "v")).resolves.toBeUndefined();
    expect(await h.cache.get("k")).toBe("v");
  });

  it("C3 OptimisticParallel: an error naming both failures when both fail", async () => {
    const log: string[] = [];
    const w = writeTiers("optimisticParallel", boom("L1 out of memory"), later(1, log, "redis", true));
    await expect(w.done).rejects.toBeInstanceOf(TieredWriteError);
    await expect(w.done).rejects.toThrow(/L1: L1 out of memory; L2: redis down/);
  });

  it("C3 Race: the first success returns; the other tier finishes in the background", async () => {
    const h = setup({ writePolicy: "race" });
    h.l2.delay("set", 100);
    await h.cache.set("k", "v"); // returns on the L1 success
    expect(h.l2.log).toEqual(["set:start t:k"]);
    await run(h.clock, 100, 10);
    await h.cache.settled();
    expect(h.l2.log).toEqual(["set:start t:k", "set:end t:k"]);
    expect((await h.memory.get("t:k"))?.value).toBe('"v"');
  });

  it("C3 Race: a first failure waits for the other; both failing names both", async () => {
    const log: string[] = [];
    await expect(writeTiers("race", boom("l1"), later(5, log, "l2")).done).resolves.toBeUndefined();
    expect(log).toEqual(["l2"]);
    const w = writeTiers("race", boom("l1 broke"), later(1, log, "l2", true));
    await expect(w.done).rejects.toThrow(/L1: l1 broke; L2: l2 down/);
  });

  it("C5 Error mode: L2 first, L1 untouched when L2 fails", async () => {
    const log: string[] = [];
    await expect(writeL2First(() => void log.push("l1"), later(1, log, "l2", true))).rejects.toThrow(
      "l2 down",
    );
    expect(log).toEqual(["l2"]);
    await writeL2First(() => void log.push("l1"), later(1, log, "l2"));
    expect(log).toEqual(["l2", "l2", "l1"]);
  });
});

describe("C11 delete from both tiers", () => {
  it("C11: deletes both tiers at once and reports whether the key existed", async () => {
    const h = setup();
    await h.cache.set("k", "v");
    h.l2.delay("delete", 50);
    const deleting = h.cache.delete("k");
    await flush();
    // L1 is gone at once, and L2 is not read while its delete is in flight.
    expect(await h.cache.get("k")).toBeUndefined();
    expect(h.l2.calls.get).toBe(0);
    await run(h.clock, 50, 10);
    expect(await deleting).toBe(true);
    expect(await h.memory.get("t:k")).toBeUndefined();
    h.l2.delay("delete", 0);
    expect(await h.cache.delete("k")).toBe(false);
  });

  it("C11: success when only L2 fails (the L1 copy is gone), whatever the failure mode", async () => {
    for (const failureMode of [{ kind: "l1Only" }, { kind: "error" }] as const) {
      const h = setup({ failureMode });
      await h.cache.set("k", "v");
      h.l2.failNext("delete", "connection");
      expect(await h.cache.delete("k")).toBe(true);
      expect(await h.cache.get("k")).toBeUndefined();
    }
  });

  it("C11: success when only L1 fails; an error naming both when both fail", async () => {
    await expect(deleteTiers(boom("l1"), async () => true)).resolves.toEqual([undefined, true]);
    const both = deleteTiers(boom("l1 broke"), async () => {
      throw new Error("l2 broke");
    });
    await expect(both).rejects.toThrow("delete failed in both tiers: L1: l1 broke; L2: l2 broke");
  });
});
