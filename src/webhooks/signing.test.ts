import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { newWebhookSecret, signWebhook, verifyWebhook } from "./signing.js";

/**
 * The published test vector of the Standard Webhooks specification, from the reference implementation's test
 * suite: standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts, test "sign function
 * works" (the same values appear in the Python, Go, Rust, PHP… libraries of that repository). Reproducing it is
 * what proves a receiver's off-the-shelf Standard Webhooks library will accept what we send.
 */
const VECTOR = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
} as const;

const headersOf = (
  signature: string,
  id: string = VECTOR.id,
  timestamp: number | string = VECTOR.timestamp,
) => ({
  id,
  timestamp: String(timestamp),
  signature,
});

describe("Standard Webhooks signing", () => {
  it("reproduces the specification's published test vector", () => {
    expect(signWebhook(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
  });

  it("verifies the published test vector at its own time", () => {
    expect(
      verifyWebhook(VECTOR.secret, headersOf(VECTOR.signature), VECTOR.body, { nowS: VECTOR.timestamp }),
    ).toBe(true);
    // The reference libraries accept the secret with or without its `whsec_` prefix.
    expect(
      verifyWebhook(VECTOR.secret.slice("whsec_".length), headersOf(VECTOR.signature), VECTOR.body, {
        nowS: VECTOR.timestamp,
      }),
    ).toBe(true);
  });

  it("rejects a tampered body, id or timestamp", () => {
    const now = { nowS: VECTOR.timestamp };
    expect(verifyWebhook(VECTOR.secret, headersOf(VECTOR.signature), '{"test": 2432232315}', now)).toBe(
      false,
    );
    expect(verifyWebhook(VECTOR.secret, headersOf(VECTOR.signature), `${VECTOR.body} `, now)).toBe(false);
    expect(
      verifyWebhook(
        VECTOR.secret,
        headersOf(VECTOR.signature, "msg_p5jXN8AQM9LWM0D4loKWxJeK"),
        VECTOR.body,
        now,
      ),
    ).toBe(false);
    expect(
      verifyWebhook(
        VECTOR.secret,
        headersOf(VECTOR.signature, VECTOR.id, VECTOR.timestamp + 1),
        VECTOR.body,
        now,
      ),
    ).toBe(false);
  });

  it("rejects the right signature under another secret", () => {
    expect(
      verifyWebhook(newWebhookSecret(), headersOf(VECTOR.signature), VECTOR.body, { nowS: VECTOR.timestamp }),
    ).toBe(false);
  });

  it("accepts timestamps within the tolerance either way and rejects those outside it", () => {
    const sig = VECTOR.signature;
    const at = (nowS: number, toleranceS?: number) =>
      verifyWebhook(VECTOR.secret, headersOf(sig), VECTOR.body, { nowS, toleranceS });
    // Default tolerance: five minutes, as in the reference libraries.
    expect(at(VECTOR.timestamp + 300)).toBe(true);
    expect(at(VECTOR.timestamp - 300)).toBe(true);
    expect(at(VECTOR.timestamp + 301)).toBe(false);
    expect(at(VECTOR.timestamp - 301)).toBe(false);
    expect(at(VECTOR.timestamp + 10, 5)).toBe(false);
    expect(at(VECTOR.timestamp + 5, 5)).toBe(true);
    // Without a clock override, "now" is the real clock: the 2021 vector is far too old.
    expect(verifyWebhook(VECTOR.secret, headersOf(sig), VECTOR.body)).toBe(false);
  });

  it("rejects a timestamp that is not an integer number of seconds", () => {
    const now = { nowS: VECTOR.timestamp };
    for (const ts of ["", "hello", "1614265330.5", "1614265330000"]) {
      expect(
        verifyWebhook(VECTOR.secret, headersOf(VECTOR.signature, VECTOR.id, ts), VECTOR.body, now),
        ts,
      ).toBe(false);
    }
  });

  it("accepts several space-separated signatures when one of them matches", () => {
    const now = { nowS: VECTOR.timestamp };
    const other = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
    const header = [other, `v2,${VECTOR.signature.slice(3)}`, VECTOR.signature, other].join(" ");
    expect(verifyWebhook(VECTOR.secret, headersOf(header), VECTOR.body, now)).toBe(true);
    expect(verifyWebhook(VECTOR.secret, headersOf(`${other} ${other}`), VECTOR.body, now)).toBe(false);
  });

  it("rejects a valid MAC under a version other than v1, and malformed signatures", () => {
    const now = { nowS: VECTOR.timestamp };
    const mac = VECTOR.signature.slice(3);
    for (const signature of [
      `v2,${mac}`,
      `v1a,${mac}`,
      `V1,${mac}`,
      mac,
      "v1,",
      "v1",
      "",
      VECTOR.signature.slice(0, 8),
      `v1,${mac.slice(0, -4)}`,
    ]) {
      expect(verifyWebhook(VECTOR.secret, headersOf(signature), VECTOR.body, now), signature).toBe(false);
    }
  });

  it("signs what a receiver computes by hand from the documented recipe", () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), "base64")).toHaveLength(32);
    const body = JSON.stringify({ type: "upload.decided", data: { id: "upl_1", title: "Ünïcødé ♫" } });
    const ts = 1_700_000_000;
    const expected = createHmac("sha256", Buffer.from(secret.slice(6), "base64"))
      .update(`evt_1.${ts}.${body}`, "utf8")
      .digest("base64");
    expect(signWebhook(secret, "evt_1", ts, body)).toBe(`v1,${expected}`);
    expect(
      verifyWebhook(secret, { id: "evt_1", timestamp: String(ts), signature: `v1,${expected}` }, body, {
        nowS: ts,
      }),
    ).toBe(true);
  });

  it("gives every endpoint its own secret", () => {
    const secrets = new Set(Array.from({ length: 50 }, () => newWebhookSecret()));
    expect(secrets.size).toBe(50);
  });
});
