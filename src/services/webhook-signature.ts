import { base64, fromBase64, randomBytes } from "../lib/crypto";

/** Signing per Standard Webhooks (https://www.standardwebhooks.com): the secret's format and the signature header. */

const SECRET_PREFIX = "whsec_";
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + base64(randomBytes(32));
}

/**
 * The HMAC key of a `whsec_…` secret, or null when it is not one. `whsec_<base64>` of 24 to 64 bytes (as
 * the specification recommends) is decoded. The seed's own example, `whsec_your-signing-secret`, is not
 * base64: such a secret is used as-is, its UTF-8 bytes being the key (as GitHub's webhook secrets are),
 * when it is at least 16 visible characters long.
 */
export function webhookSigningKey(secret: string): Uint8Array<ArrayBuffer> | null {
  if (!secret.startsWith(SECRET_PREFIX)) return null;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) && encoded.length % 4 === 0) {
    const key = fromBase64(encoded);
    return key.length >= MIN_SECRET_BYTES && key.length <= MAX_SECRET_BYTES ? key : null;
  }
  return /^[\x21-\x7e]{16,256}$/.test(encoded) ? (new TextEncoder().encode(encoded) as Uint8Array<ArrayBuffer>) : null;
}

export const WEBHOOK_SECRET_RULE = `secret must be "${SECRET_PREFIX}" followed by the base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} random bytes, or by 16 to 256 visible characters.`;

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, the `webhook-signature` header. */
export async function signWebhook(secret: string, messageId: string, timestampSeconds: number, body: string): Promise<string> {
  const raw = webhookSigningKey(secret);
  if (!raw) throw new Error("Stored webhook secret is malformed");
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${messageId}.${timestampSeconds}.${body}`));
  return `v1,${base64(new Uint8Array(mac))}`;
}
