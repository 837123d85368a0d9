import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { type PlanName, apiKeys } from "../db/schema";
import type { PresentedToken } from "../durable-objects/tenant-rate-limiter";
import { sha256Hex } from "../lib/crypto";
import { forbidden, unauthorized } from "../lib/errors";
import { verifyAccessToken } from "./access-token";
import { admitLeased } from "./admission-lease";
import type { Principal, PublicContext } from "./context";
import { type RateDecision, rateLimited, tenantLimiter } from "./rate-limit";

export const API_KEY_PREFIX = "ds_live_";

/** The token of an `Authorization: Bearer …` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match ? match[1] : null;
}

/** Who a token says is calling, once its signature (JWT) or hash (API key) checked out. */
export interface Caller {
  subscriberId: string;
  principal: Principal;
  /** What the subscriber's limiter checks: the session's generation or the key's id. */
  presented: PresentedToken;
}

/** The limiter's yes: the subscriber's plan, and its rate budget after this request (the `RateLimit-*` headers). */
export interface Admission {
  plan: PlanName;
  rateLimit: RateDecision;
  /** The agent the request named, and whether it is the subscriber's (see ServiceContext.namedAgent). */
  namedAgent?: { agentId: string; owned: boolean };
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

async function identifyApiKey(db: Db, token: string, now: number, primary?: Db): Promise<KeyIdentity> {
  const hash = await sha256Hex(token);
  const cached = keyCache.get(hash);
  if (cached && cached.expiresAt > now) return cached.key;
  const find = (from: Db) =>
    from
      .select({ apiKeyId: apiKeys.id, subscriberId: apiKeys.subscriberId, userId: apiKeys.createdByUserId })
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)))
      .limit(1)
      .then(([row]) => row);
  // A key created a moment ago may not have reached the request's replica yet: a miss is confirmed on the primary.
  const row = (await find(db)) ?? (primary ? await find(primary) : undefined);
  if (!row) {
    keyCache.delete(hash);
    throw unauthorized("Invalid API key.");
  }
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(hash, { key: row, expiresAt: now + KEY_CACHE_TTL_MS });
  return row;
}

/**
 * Who a bearer token (JWT session or API key) says is calling; throws 401 when it cannot be. A JWT costs
 * no D1 read (its signature is checked here); an API key is found by its hash, cached per isolate.
 * Whether the session or key is still valid is the limiter's to say (`admitCaller`).
 */
export async function identifyBearer(
  { db, env, now }: Pick<PublicContext, "db" | "env" | "now">,
  token: string,
  /** The database's primary, where a key not found on the request's (possibly replica) session is looked up again. */
  primary?: Db,
): Promise<Caller> {
  if (token.startsWith(API_KEY_PREFIX)) {
    const key = await identifyApiKey(db, token, now.getTime(), primary);
    return {
      subscriberId: key.subscriberId,
      presented: { kind: "apikey", apiKeyId: key.apiKeyId },
      principal: { kind: "apikey", apiKeyId: key.apiKeyId, userId: key.userId },
    };
  }
  const claims = await verifyAccessToken(env, token, now);
  if (!claims) throw unauthorized("Invalid or expired token.");
  return {
    subscriberId: claims.subscriberId,
    presented: { kind: "session", userId: claims.userId, generation: claims.generation, sessionId: claims.sessionId },
    principal: { kind: "session", userId: claims.userId, session: { sessionId: claims.sessionId, expiresAt: claims.expiresAt, via: "bearer" } },
  };
}

/**
 * Per isolate: subscribers refused for their rate limit, until their window frees. Their requests wait
 * for the limiter before reading (see requireAuth), so a tenant over its limit costs D1 nothing.
 */
const overLimit = new Map<string, number>();
const OVER_LIMIT_MAX = 10_000;

/** Whether a request of this subscriber may start its reads before the limiter has decided. */
export function mayReadBeforeAdmission(subscriberId: string, now: Date): boolean {
  const until = overLimit.get(subscriberId);
  if (until === undefined) return true;
  if (until > now.getTime()) return false;
  overLimit.delete(subscriberId);
  return true;
}

/**
 * The one admission step for every identified caller (a bearer token, or the dashboard's cookie session,
 * see middleware/session-cookie.ts). The subscriber's limiter decides, in one call, whether the session or key is still valid (it caches
 * the session generations, keys and plan from D1) and spends one request of the plan's budget; throws
 * 401 (revoked), 403 (key on a plan without keys) or 429 (over the limit).
 */
export async function admitCaller(
  { db, env, now }: Pick<PublicContext, "db" | "env" | "now">,
  { subscriberId, presented, principal }: Caller,
  /** Runs the `lastUsedAt` write (at most once a minute per key) beside the request. */
  waitUntil: (promise: Promise<unknown>) => void,
  /** An agent the request acts on: the limiter says in the same call whether it is the subscriber's. */
  agentId?: string,
): Promise<Admission> {
  const verdict = await admitLeased(tenantLimiter(env, subscriberId), { subscriberId, now: now.getTime(), principal: presented, agentId });
  switch (verdict.status) {
    case "invalid_session":
      throw unauthorized("Invalid or expired token.");
    case "invalid_key":
      throw unauthorized("Invalid API key.");
    case "keys_not_in_plan":
      throw forbidden("API keys require the Professional or Ultimate plan.");
    case "rate_limited":
      if (overLimit.size >= OVER_LIMIT_MAX) overLimit.delete(overLimit.keys().next().value!);
      overLimit.set(subscriberId, now.getTime() + verdict.decision.resetSeconds * 1000);
      throw rateLimited(verdict.decision);
  }
  if (principal.kind === "apikey" && verdict.touchKey) {
    waitUntil(db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, principal.apiKeyId)));
  }
  const namedAgent = agentId === undefined ? undefined : { agentId, owned: verdict.ownsAgent === true };
  return { plan: verdict.plan, rateLimit: verdict.decision, namedAgent };
}
