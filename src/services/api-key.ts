import { and, desc, eq, isNull, sql } from "drizzle-orm";
import { apiKeys, users } from "../db/schema";
import { randomToken, sha256Hex } from "../lib/crypto";
import { forbidden, notFound } from "../lib/errors";
import { isoUtc } from "../lib/time";
import { API_KEY_PREFIX } from "./bearer-auth";
import type { ServiceContext } from "./context";
import { sendEmail } from "./email";
import { assertPlanFeature } from "./plan";
import { refreshTenant } from "./rate-limit";
import { createWithinPlanLimit } from "./usage";


/** Characters of the key kept in clear to tell keys apart: `ds_live_` and 4 of its 43 random ones. */
const VISIBLE_PREFIX_LENGTH = API_KEY_PREFIX.length + 4;

const listedColumns = {
  apiKeyId: apiKeys.id,
  name: apiKeys.name,
  prefix: apiKeys.prefix,
  createdAt: apiKeys.createdAt,
  lastUsedAt: apiKeys.lastUsedAt,
};

/** The subscriber's keys that still work, newest first. */
export function listApiKeys({ db, subscriberId }: ServiceContext) {
  return db
    .select(listedColumns)
    .from(apiKeys)
    .where(and(eq(apiKeys.subscriberId, subscriberId), isNull(apiKeys.revokedAt)))
    .orderBy(desc(apiKeys.createdAt), sql`rowid desc`);
}

/**
 * A new key (Professional+, within the plan's count). The full key is returned only here; D1 keeps its
 * SHA-256, which is what authentication looks up. The user who created it is told by email, so a key
 * minted with a stolen session does not go unnoticed.
 */
export async function createApiKey(ctx: ServiceContext, name: string) {
  const { db, env, now, waitUntil, plan, principal } = ctx;
  // A leaked key must not be able to mint more keys that outlive its revocation.
  if (principal.kind !== "session") throw forbidden("API keys can only be created from a login session, not with an API key.");
  assertPlanFeature(plan, "apiKeys");
  const key = randomToken(API_KEY_PREFIX);
  const keyHash = await sha256Hex(key);
  const [created] = await createWithinPlanLimit(ctx, "apiKeys", (subscriberId) =>
    db
      .insert(apiKeys)
      .values({ subscriberId, createdByUserId: principal.userId, name, prefix: key.slice(0, VISIBLE_PREFIX_LENGTH), keyHash, createdAt: now })
      .returning({ apiKeyId: apiKeys.id, name: apiKeys.name, prefix: apiKeys.prefix, createdAt: apiKeys.createdAt }),
  );
  if (principal.userId) await notifyKeyCreated({ db, env, waitUntil }, principal.userId, created);
  return { ...created, key };
}

/** The email about a new key: its name, visible prefix and time, never the key itself. */
async function notifyKeyCreated(
  { db, env, waitUntil }: Pick<ServiceContext, "db" | "env" | "waitUntil">,
  userId: string,
  created: { apiKeyId: string; name: string; prefix: string; createdAt: Date },
) {
  const [user] = await db.select({ email: users.email, forename: users.forename }).from(users).where(eq(users.id, userId)).limit(1);
  if (!user) return;
  const text = [
    `Hi ${user.forename},`,
    "",
    `A new API key was created for your DataSync account at ${isoUtc(created.createdAt)}:`,
    `  name: ${created.name}`,
    `  starts with: ${created.prefix}`,
    `  id: ${created.apiKeyId}`,
    "",
    "If it was not you, revoke the key (DELETE /api/apikey/{id}) and reset your password at once.",
  ].join("\n");
  await sendEmail(env, db, { to: user.email, subject: "A new API key was created for your DataSync account", text }, waitUntil);
}

/** Revokes a key of this subscriber; authentication refuses it from the next request on. 404 otherwise. */
export async function revokeApiKey({ db, env, subscriberId, now }: ServiceContext, apiKeyId: string): Promise<void> {
  const revoked = await db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(apiKeys.id, apiKeyId), eq(apiKeys.subscriberId, subscriberId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  if (revoked.length === 0) throw notFound("API key not found.");
  // The subscriber's limiter caches revoked keys; tell it now so the key fails on its very next request.
  await refreshTenant(env, subscriberId);
}
