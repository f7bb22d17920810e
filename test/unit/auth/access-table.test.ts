import { describe, expect, it } from "vitest";
import { AccessTableError, parseAccessTable, tokenHash } from "../../../src/auth/access-table.js";
import { allows, grantsOf, scopeProblem } from "../../../src/auth/scopes.js";

describe("scopes (A2)", () => {
  it("A2: a name, a prefix ending in * and * match as documented; admin allows everything", () => {
    const grants = grantsOf(["select:payments", "watch:team-a-*", "report:*"]);
    expect(allows(grants, "select", "payments")).toBe(true);
    expect(allows(grants, "select", "payments-eu")).toBe(false);
    expect(allows(grants, "register", "payments")).toBe(false);
    expect(allows(grants, "watch", "team-a-db")).toBe(true);
    expect(allows(grants, "watch", "team-b-db")).toBe(false);
    expect(allows(grants, "watch", "*")).toBe(false);
    expect(allows(grants, "report", "anything")).toBe(true);
    expect(allows(grants, "report", "*")).toBe(true);
    expect(allows(grantsOf(["admin"]), "health", "x")).toBe(true);
  });

  it("A2: malformed scopes are named", () => {
    expect(scopeProblem("select:a*b")).toMatch(/only end/);
    expect(scopeProblem("delete:x")).toMatch(/must be admin or/);
    expect(scopeProblem("watch:")).toMatch(/names no service/);
    expect(scopeProblem("admin")).toBeUndefined();
  });
});

describe("access table (A2)", () => {
  const yaml = [
    "tokens:",
    `  - {name: deployer, sha256: ${tokenHash("t-deploy")}, scopes: ["register:pay*"]}`,
    `  - {name: reader, sha256: ${tokenHash("t-read").toUpperCase()}, scopes: ["watch:*"]}`,
    "certificates:",
    '  - {identity: gateway.internal, scopes: ["select:*"]}',
  ].join("\n");

  it("A2: finds the principal of a token by its SHA-256, and of a certificate identity", () => {
    const table = parseAccessTable(yaml);
    expect(table.size).toBe(3);
    expect(table.authenticate({ token: "t-deploy" })?.name).toBe("deployer");
    expect(table.authenticate({ token: "t-read" })?.name).toBe("reader");
    expect(table.authenticate({ token: "t-other" })).toBeUndefined();
    expect(table.authenticate({})).toBeUndefined();
    expect(table.authenticate({ certificateIdentities: ["x", "gateway.internal"] })?.name).toBe(
      "certificate gateway.internal",
    );
    expect(table.authenticate({ certificateIdentities: ["unknown"] })).toBeUndefined();
  });

  it("A2: a bad file is refused naming the entry and never holds a plaintext token", () => {
    expect(() => parseAccessTable("tokens:\n  - {name: a, sha256: plaintext-token, scopes: []}")).toThrow(
      /tokens\.0\.sha256: must be the 64 hex digits/,
    );
    expect(() =>
      parseAccessTable(`tokens:\n  - {name: a, sha256: ${tokenHash("x")}, scopes: [nope]}`),
    ).toThrow(AccessTableError);
    expect(() => parseAccessTable("tokens: [ {")).toThrow(/not YAML/);
  });
});
