import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { apiKeys } from "../db/schema";
import type { Principal } from "../durable-objects/tenant-rate-limiter";
import { sha256Hex } from "../lib/crypto";
import { forbidden, unauthorized } from "../lib/errors";
import type { AuthContext } from "../lib/types";
import { verifyAccessToken } from "./access-tokens";
import { type RateDecision, rateLimited, tenantLimiter } from "./rate-limits";

export const API_KEY_PREFIX = "ds_live_";
/** `lastUsedAt` is written at most this often per key, not on every request. */
export const LAST_USED_GRANULARITY_MS = 60_000;

interface AuthenticateInput {
  db: Db;
  env: Env;
  token: string;
  now: Date;
  /** Runs the `lastUsedAt` write (at most once a minute per key) beside the request. */
  waitUntil: (promise: Promise<unknown>) => void;
}

export interface Authenticated {
  auth: AuthContext;
  /** The subscriber's rate budget after this request: the `RateLimit-*` headers. */
  rateLimit: RateDecision;
}

interface KeyIdentity {
  apiKeyId: string;
  subscriberId: string;
  userId: string | null;
}

/**
 * API key hash → key, per isolate. Safe to keep briefly because it only says which subscriber a key
 * belongs to: whether the key is still valid is decided by that subscriber's limiter on every request,
 * so a revocation takes effect on the next request. Unknown hashes are not cached (a new key works at once).
 */
const KEY_CACHE_TTL_MS = 60_000;
const KEY_CACHE_MAX = 10_000;
const keyCache = new Map<string, { key: KeyIdentity; expiresAt: number }>();

async function identifyApiKey(db: Db, token: string, now: number): Promise<KeyIdentity> {
  const hash = await sha256Hex(token);
  const cached = keyCache.get(hash);
  if (cached && cached.expiresAt > now) return cached.key;
  const [row] = await db
    .select({ apiKeyId: apiKeys.id, subscriberId: apiKeys.subscriberId, userId: apiKeys.createdByUserId })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)))
    .limit(1);
  if (!row) {
    keyCache.delete(hash);
    throw unauthorized("Invalid API key.");
  }
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(hash, { key: row, expiresAt: now + KEY_CACHE_TTL_MS });
  return row;
}

/**
 * Resolves a bearer token (JWT session or API key) to the calling subscriber and spends one request of
 * its plan's budget; throws 401 (invalid), 403 (key on a plan without keys) or 429 (over the limit).
 * A JWT costs no D1 read: its signature is checked here, and the session generation and plan come from
 * the subscriber's limiter, which caches them, in the same call that counts the request.
 */
export async function authenticateBearer({ db, env, token, now, waitUntil }: AuthenticateInput): Promise<Authenticated> {
  let subscriberId: string;
  let userId: string | null;
  let principal: Principal;
  if (token.startsWith(API_KEY_PREFIX)) {
    const key = await identifyApiKey(db, token, now.getTime());
    ({ subscriberId, userId } = key);
    principal = { kind: "apikey", apiKeyId: key.apiKeyId };
  } else {
    const claims = await verifyAccessToken(env, token, now);
    if (!claims) throw unauthorized("Invalid or expired token.");
    ({ subscriberId, userId } = claims);
    principal = { kind: "session", userId: claims.userId, generation: claims.generation };
  }

  return admitPrincipal({ db, env, now, waitUntil }, { subscriberId, userId, principal });
}

/**
 * Spends one request of the subscriber's budget for an identified caller (bearer token or the
 * dashboard's cookie session) after the limiter confirms the session generation or key is still valid.
 */
export async function admitPrincipal(
  { db, env, now, waitUntil }: Omit<AuthenticateInput, "token">,
  { subscriberId, userId, principal }: { subscriberId: string; userId: string | null; principal: Principal },
): Promise<Authenticated> {
  const verdict = await tenantLimiter(env, subscriberId).admit({ subscriberId, now: now.getTime(), principal });
  switch (verdict.status) {
    case "invalid_session":
      throw unauthorized("Invalid or expired token.");
    case "invalid_key":
      throw unauthorized("Invalid API key.");
    case "keys_not_in_plan":
      throw forbidden("API keys require the Professional or Ultimate plan.");
    case "rate_limited":
      throw rateLimited(verdict.decision);
  }
  const apiKeyId = principal.kind === "apikey" ? principal.apiKeyId : null;
  if (apiKeyId && verdict.touchKey) {
    waitUntil(db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, apiKeyId)));
  }
  return {
    auth: { subscriberId, plan: verdict.plan, userId, via: principal.kind === "apikey" ? "apikey" : "jwt", apiKeyId },
    rateLimit: verdict.decision,
  };
}
