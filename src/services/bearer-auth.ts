import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { apiKeys } from "../db/schema";
import type { PresentedToken } from "../durable-objects/tenant-rate-limiter";
import { sha256Hex } from "../lib/crypto";
import { forbidden, unauthorized } from "../lib/errors";
import { verifyAccessToken } from "./access-token";
import type { Principal, PublicContext, ServiceContext } from "./context";
import { type RateDecision, rateLimited, tenantLimiter } from "./rate-limit";

export const API_KEY_PREFIX = "ds_live_";

/** The token of an `Authorization: Bearer …` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match ? match[1] : null;
}

export interface Authenticated {
  /** What the request's service context adds for authenticated work. */
  tenant: Pick<ServiceContext, "subscriberId" | "plan" | "principal">;
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
export async function authenticateBearer(
  { db, env, now }: Pick<PublicContext, "db" | "env" | "now">,
  token: string,
  /** Runs the `lastUsedAt` write (at most once a minute per key) beside the request. */
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<Authenticated> {
  let subscriberId: string;
  let presented: PresentedToken;
  let principal: Principal;
  if (token.startsWith(API_KEY_PREFIX)) {
    const key = await identifyApiKey(db, token, now.getTime());
    subscriberId = key.subscriberId;
    presented = { kind: "apikey", apiKeyId: key.apiKeyId };
    principal = { kind: "apikey", apiKeyId: key.apiKeyId, userId: key.userId };
  } else {
    const claims = await verifyAccessToken(env, token, now);
    if (!claims) throw unauthorized("Invalid or expired token.");
    subscriberId = claims.subscriberId;
    presented = { kind: "session", userId: claims.userId, generation: claims.generation, sessionId: claims.sessionId };
    principal = { kind: "session", userId: claims.userId, session: { sessionId: claims.sessionId, expiresAt: claims.expiresAt } };
  }

  return admitPrincipal({ db, env, now }, { subscriberId, presented, principal }, waitUntil);
}

/**
 * Spends one request of the subscriber's budget for an identified caller (a bearer token, or the
 * dashboard's cookie session) once its limiter confirms the session generation or key is still valid.
 */
export async function admitPrincipal(
  { db, env, now }: Pick<PublicContext, "db" | "env" | "now">,
  { subscriberId, presented, principal }: { subscriberId: string; presented: PresentedToken; principal: Principal },
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<Authenticated> {
  const verdict = await tenantLimiter(env, subscriberId).admit({ subscriberId, now: now.getTime(), principal: presented });
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
  if (principal.kind === "apikey" && verdict.touchKey) {
    waitUntil(db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, principal.apiKeyId)));
  }
  return {
    tenant: { subscriberId, plan: verdict.plan, principal },
    rateLimit: verdict.decision,
  };
}
