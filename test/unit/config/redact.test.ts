import { describe, expect, it } from "vitest";
import { redactUrl } from "../../../src/config/redact.js";

describe("redactUrl (A4)", () => {
  it("A4: hides the password, keeps user, host, port and database", () => {
    expect(redactUrl("redis://:s3cret@10.0.0.5:6379")).toBe("redis://:***@10.0.0.5:6379");
    expect(redactUrl("rediss://app:p%40ss@redis.internal:6380/2")).toBe(
      "rediss://app:***@redis.internal:6380/2",
    );
    expect(redactUrl("redis://lonesecret@host:1")).toBe("redis://***@host:1");
    expect(redactUrl("redis://127.0.0.1:6379")).toBe("redis://127.0.0.1:6379");
  });

  it("A4: hides a password or user given in the query string", () => {
    const shown = redactUrl("redis://10.0.0.5:6379/0?password=s3cret&username=app");
    expect(shown).not.toContain("s3cret");
    expect(shown).toBe("redis://10.0.0.5:6379/0?password=***&username=***");
  });

  it("A4: a string that is no URL still loses its user-info part", () => {
    expect(redactUrl("redis//user:s3cret@host")).not.toContain("s3cret");
  });
});
