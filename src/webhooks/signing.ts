import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** A new endpoint secret in the Standard Webhooks form: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
}

/**
 * The `webhook-signature` header value: HMAC-SHA256 over `${id}.${timestamp}.${body}` with the decoded
 * secret, base64, versioned `v1,` (Standard Webhooks specification).
 *
 * @example
 * signWebhook(secret, "msg_1", 1700000000, '{"type":"upload.decided"}') // "v1,K5oZ…="
 */
export function signWebhook(secret: string, id: string, timestampS: number, body: string): string {
  const mac = createHmac("sha256", keyOf(secret)).update(`${id}.${timestampS}.${body}`).digest("base64");
  return `v1,${mac}`;
}

/**
 * Verifies a delivery as a receiver should: one of the space-separated signatures matches, and the timestamp
 * is within `toleranceS` of now (replay protection).
 */
export function verifyWebhook(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  opts: { toleranceS?: number; nowS?: number } = {},
): boolean {
  const ts = Number(headers.timestamp);
  const now = opts.nowS ?? Math.floor(Date.now() / 1000);
  if (!Number.isInteger(ts) || Math.abs(now - ts) > (opts.toleranceS ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, headers.id, ts, body).slice(3), "base64");
  return headers.signature.split(" ").some((part) => {
    const [version, sig] = part.split(",");
    if (version !== "v1" || !sig) return false;
    const got = Buffer.from(sig, "base64");
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}
