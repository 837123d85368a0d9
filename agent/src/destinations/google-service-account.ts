import { createSign } from "node:crypto";
import { DestinationError, type DestinationSpec } from "./destination.ts";
import type { SignedFetch } from "./s3.ts";

/** Read and write objects, nothing else (no bucket administration). */
export const STORAGE_SCOPE = "https://www.googleapis.com/auth/devstorage.read_write";
const DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token";
/** A token is renewed this long before Google says it expires. */
const RENEW_EARLY_MS = 5 * 60_000;

interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri?: string;
}

function parseKey(spec: DestinationSpec, serviceAccountJson: string): ServiceAccountKey {
  let key: Partial<ServiceAccountKey> & { type?: string };
  try {
    key = JSON.parse(serviceAccountJson);
  } catch {
    throw new DestinationError(`Destination "${spec.name}": the GoogleCloudCredential is not JSON; paste the service account's key file.`);
  }
  if (typeof key.client_email !== "string" || typeof key.private_key !== "string") {
    throw new DestinationError(`Destination "${spec.name}": the GoogleCloudCredential has no client_email and private_key; paste the service account's key file.`);
  }
  return key as ServiceAccountKey;
}

const base64url = (text: string) => Buffer.from(text).toString("base64url");

/** The OAuth 2.0 JWT bearer grant (RFC 7523) Google uses for service accounts: a signed assertion for a token. */
async function exchange(spec: DestinationSpec, key: ServiceAccountKey): Promise<{ token: string; expiresAt: number }> {
  const tokenUri = key.token_uri ?? DEFAULT_TOKEN_URI;
  const issuedAt = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: "RS256", typ: "JWT", ...(key.private_key_id ? { kid: key.private_key_id } : {}) }));
  const claims = base64url(JSON.stringify({ iss: key.client_email, scope: STORAGE_SCOPE, aud: tokenUri, iat: issuedAt, exp: issuedAt + 3600 }));
  let signature: string;
  try {
    signature = createSign("RSA-SHA256").update(`${header}.${claims}`).sign(key.private_key, "base64url");
  } catch (error) {
    throw new DestinationError(`Destination "${spec.name}": the service account's private_key cannot sign (${(error as Error).message}).`);
  }
  let response: Response;
  try {
    response = await fetch(tokenUri, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: `${header}.${claims}.${signature}` }),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new DestinationError(`Destination "${spec.name}": cannot reach ${tokenUri} for a service account token: ${cause}.`);
  }
  const body = (await response.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
  if (!response.ok || !body.access_token) {
    const reason = [body.error, body.error_description].filter(Boolean).join(": ") || "no access token";
    throw new DestinationError(`Destination "${spec.name}": Google refused the service account ${key.client_email} (HTTP ${response.status}, ${reason}).`);
  }
  return { token: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 3600) * 1000 - RENEW_EARLY_MS };
}

/**
 * Requests with a service account's OAuth 2.0 access token (`Authorization: Bearer`), which Cloud
 * Storage's XML API accepts like an HMAC signature. One token serves every request until shortly
 * before it expires; concurrent requests share one exchange.
 */
export function serviceAccountFetch(spec: DestinationSpec, serviceAccountJson: string): SignedFetch {
  const key = parseKey(spec, serviceAccountJson);
  let current: { token: string; expiresAt: number } | undefined;
  let pending: Promise<{ token: string; expiresAt: number }> | undefined;
  const accessToken = async () => {
    if (current && current.expiresAt > Date.now()) return current.token;
    pending ??= exchange(spec, key).finally(() => (pending = undefined));
    current = await pending;
    return current.token;
  };
  return async (url, init) => {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${await accessToken()}`);
    return fetch(url, { ...init, headers });
  };
}
