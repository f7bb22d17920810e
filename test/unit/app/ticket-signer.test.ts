import { createHmac } from "node:crypto";
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { createTicketSigner, fixedTicketSecret, randomTicketSecret } from "../../../src/app/ticket-signer.js";

/** What every signer must produce: HMAC-SHA256 of the body, first 12 bytes, base64url. */
const reference = (secret: string, body: string) =>
  createHmac("sha256", secret).update(body).digest().subarray(0, 12).toString("base64url");

describe("ticket signer", () => {
  const anyText = (minLength: number) =>
    fc.oneof(
      fc.string({ minLength, maxLength: 100 }),
      fc.string({ minLength, maxLength: 100, unit: "binary" }),
    );
  test.prop([anyText(1), anyText(0)])(
    "signs exactly HMAC-SHA256 truncated to 12 bytes, for any secret and body (ASCII, non-ASCII, longer than a block)",
    (secret, body) => {
      expect(createTicketSigner(fixedTicketSecret(secret)).sign(body)).toBe(reference(secret, body));
    },
  );

  it("signs like node's Hmac with the secrets Fulcrum makes, and verifies only its own signatures", () => {
    const secret = randomTicketSecret();
    const signer = createTicketSigner(fixedTicketSecret(secret));
    const body = "r1~1a~news~b1,b2";
    const signature = signer.sign(body);
    expect(signature).toBe(reference(secret, body));
    expect(signer.verify(body, signature)).toBe(true);
    expect(signer.verify(`${body}3`, signature)).toBe(false);
    expect(signer.verify(body, "AAAAAAAAAAAAAAAA")).toBe(false);
    expect(signer.verify(body, signature.slice(1))).toBe(false);
  });

  it("accepts a signature made with any accepted secret and signs with the current one", () => {
    const [old, current] = [randomTicketSecret(), randomTicketSecret()];
    let secrets = { signing: old, accepted: [old] };
    const signer = createTicketSigner({ current: () => secrets });
    const early = signer.sign("b");
    secrets = { signing: current, accepted: [current, old] };
    expect(signer.verify("b", early)).toBe(true);
    expect(signer.sign("b")).toBe(reference(current, "b"));
    secrets = { signing: current, accepted: [current] };
    expect(signer.verify("b", early)).toBe(false);
  });
});
