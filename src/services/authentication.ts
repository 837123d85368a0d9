import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { apiKeys, subscribers, users } from "../db/schema";
import { sha256Hex } from "../lib/crypto";
import { forbidden, unauthorized } from "../lib/errors";
import type { AuthContext } from "../lib/types";
import { verifyAccessToken } from "./access-tokens";
import { isProfessionalOrAbove } from "./plans";

export const API_KEY_PREFIX = "ds_live_";
/** `lastUsedAt` is written at most this often per key, not on every request. */
export const LAST_USED_GRANULARITY_MS = 60_000;

interface AuthenticateInput {
  db: Db;
  env: Env;
  token: string;
  now: Date;
  /** Runs the `lastUsedAt` write after the response. */
  waitUntil: (promise: Promise<unknown>) => void;
}

/** Resolves a bearer token (JWT session or API key) to the calling subscriber, or throws 401/403. */
export async function authenticateBearer({ db, env, token, now, waitUntil }: AuthenticateInput): Promise<AuthContext> {
  if (token.startsWith(API_KEY_PREFIX)) {
    const [row] = await db
      .select({ id: apiKeys.id, subscriberId: apiKeys.subscriberId, userId: apiKeys.createdByUserId, lastUsedAt: apiKeys.lastUsedAt, plan: subscribers.plan })
      .from(apiKeys)
      .innerJoin(subscribers, eq(subscribers.id, apiKeys.subscriberId))
      .where(and(eq(apiKeys.keyHash, await sha256Hex(token)), isNull(apiKeys.revokedAt)))
      .limit(1);
    if (!row) throw unauthorized("Invalid API key.");
    if (!isProfessionalOrAbove(row.plan)) {
      throw forbidden("API keys require the Professional or Ultimate plan.");
    }
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= LAST_USED_GRANULARITY_MS) {
      waitUntil(db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, row.id)));
    }
    return { subscriberId: row.subscriberId, plan: row.plan, userId: row.userId, via: "apikey", apiKeyId: row.id };
  }

  const claims = await verifyAccessToken(env, token, now);
  if (!claims) throw unauthorized("Invalid or expired token.");
  const [row] = await db
    .select({ generation: users.sessionGeneration, plan: subscribers.plan })
    .from(users)
    .innerJoin(subscribers, eq(subscribers.id, users.subscriberId))
    .where(and(eq(users.id, claims.userId), eq(users.subscriberId, claims.subscriberId)))
    .limit(1);
  if (!row || row.generation !== claims.generation) throw unauthorized("Invalid or expired token.");
  return { subscriberId: claims.subscriberId, plan: row.plan, userId: claims.userId, via: "jwt", apiKeyId: null };
}
