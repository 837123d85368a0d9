import { and, eq, gt, isNull } from "drizzle-orm";
import { browserSessions } from "../db/schema";
import { randomToken, sha256Hex } from "../lib/crypto";
import type { PublicContext } from "./context";

/** The dashboard's session cookie. Not `__Host-`: that prefix needs Secure, and local development is http. */
export const SESSION_COOKIE = "datasync_session";
/** A dashboard session lasts a working day; then the user logs in again. */
export const BROWSER_SESSION_TTL_MS = 12 * 60 * 60 * 1000;

type SessionContext = Pick<PublicContext, "db" | "now">;

export interface BrowserSessionOwner {
  userId: string;
  subscriberId: string;
  generation: number;
}

/** A new session's row and the cookie value that opens it (only its hash is stored). */
async function newSession({ db, now }: SessionContext, owner: BrowserSessionOwner, expiresAt: Date) {
  const token = randomToken("", 32);
  const insert = db.insert(browserSessions).values({
    subscriberId: owner.subscriberId,
    userId: owner.userId,
    sessionGeneration: owner.generation,
    tokenHash: await sha256Hex(token),
    expiresAt,
    createdAt: now,
  });
  return { token, insert };
}

/** Starts a session for a user whose credentials were just verified; returns the cookie's value once. */
export async function startBrowserSession(ctx: SessionContext, owner: BrowserSessionOwner) {
  const expiresAt = new Date(ctx.now.getTime() + BROWSER_SESSION_TTL_MS);
  const { token, insert } = await newSession(ctx, owner, expiresAt);
  await insert;
  return { token, expiresAt };
}

/**
 * Replaces a session whose generation a password change just ended with one at the new generation, so the
 * browser that changed the password stays logged in. It ends when the old one would have: re-entering the
 * password (without the second factor) does not lengthen a session.
 */
export async function renewBrowserSession(ctx: SessionContext, old: { sessionId: string; expiresAt: Date }, owner: BrowserSessionOwner) {
  const { token, insert } = await newSession(ctx, owner, old.expiresAt);
  const endOld = ctx.db
    .update(browserSessions)
    .set({ endedAt: ctx.now })
    .where(and(eq(browserSessions.id, old.sessionId), eq(browserSessions.userId, owner.userId)));
  await ctx.db.batch([insert, endOld]);
  return { token, expiresAt: old.expiresAt };
}

/** The live (not ended, not expired) session a cookie value belongs to, or null. */
export async function findBrowserSession(
  { db, now }: SessionContext,
  token: string,
): Promise<(BrowserSessionOwner & { sessionId: string; expiresAt: Date }) | null> {
  const [row] = await db
    .select({
      sessionId: browserSessions.id,
      expiresAt: browserSessions.expiresAt,
      userId: browserSessions.userId,
      subscriberId: browserSessions.subscriberId,
      generation: browserSessions.sessionGeneration,
    })
    .from(browserSessions)
    .where(and(eq(browserSessions.tokenHash, await sha256Hex(token)), isNull(browserSessions.endedAt), gt(browserSessions.expiresAt, now)))
    .limit(1);
  return row ?? null;
}

/** Ends the session of a cookie value (idempotent: an unknown or ended one changes nothing). */
export async function endBrowserSession({ db, now }: SessionContext, token: string): Promise<void> {
  await db
    .update(browserSessions)
    .set({ endedAt: now })
    .where(and(eq(browserSessions.tokenHash, await sha256Hex(token)), isNull(browserSessions.endedAt)));
}
