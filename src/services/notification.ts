import { and, eq, isNotNull, sql } from "drizzle-orm";
import { SignJWT, jwtVerify } from "jose";
import type { Db } from "../db/client";
import { notificationPreferences, users } from "../db/schema";
import { NOTIFICATION_KINDS, NOTIFICATION_KIND_LABELS, type NotificationKind } from "../domain/notification";
import { badRequest } from "../lib/errors";
import type { ServiceContext } from "./context";

export type NotificationPreferences = Record<NotificationKind, boolean>;

const ALL_ON: NotificationPreferences = { backupFailure: true, anomaly: true, agentOffline: true, weeklyReport: true };

/** The caller's choices (every kind on until changed). */
export async function getNotificationPreferences({ db }: Pick<ServiceContext, "db">, userId: string): Promise<NotificationPreferences> {
  const [row] = await db.select().from(notificationPreferences).where(eq(notificationPreferences.userId, userId));
  if (!row) return { ...ALL_ON };
  return Object.fromEntries(NOTIFICATION_KINDS.map((kind) => [kind, row[kind]])) as NotificationPreferences;
}

/** Changes the kinds given and keeps the others; returns the full set. */
export async function updateNotificationPreferences(
  { db, now }: Pick<ServiceContext, "db" | "now">,
  userId: string,
  changes: Partial<NotificationPreferences>,
): Promise<NotificationPreferences> {
  const [row] = await db
    .insert(notificationPreferences)
    .values({ userId, ...ALL_ON, ...changes, updatedAt: now })
    .onConflictDoUpdate({ target: notificationPreferences.userId, set: { ...changes, updatedAt: now } })
    .returning();
  return Object.fromEntries(NOTIFICATION_KINDS.map((kind) => [kind, row[kind]])) as NotificationPreferences;
}

/** The confirmed users of a subscriber who want this kind of email. */
export async function alertRecipients(db: Db, subscriberId: string, kind: NotificationKind) {
  return db
    .select({ userId: users.id, email: users.email, forename: users.forename })
    .from(users)
    .leftJoin(notificationPreferences, eq(notificationPreferences.userId, users.id))
    .where(and(eq(users.subscriberId, subscriberId), isNotNull(users.emailConfirmedAt), sql`coalesce(${notificationPreferences[kind]}, 1) = 1`));
}

// ── One-click unsubscribe ───────────────────────────────────────────────────────────────────────

const UNSUBSCRIBE_AUDIENCE = "datasync-unsubscribe";
/** A link in an old email keeps working for a year; the preferences page works forever. */
const UNSUBSCRIBE_TTL_SECONDS = 365 * 24 * 60 * 60;

/** A key of its own, derived from JWT_SECRET: an unsubscribe token can never pass as an access token. */
async function unsubscribeKey(secret: string): Promise<Uint8Array> {
  const hmacKey = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, new TextEncoder().encode("datasync-unsubscribe-v1")));
}

/** The signed token of an email's unsubscribe link: this user, this kind. */
export async function issueUnsubscribeToken(env: Env, userId: string, kind: NotificationKind, now: Date): Promise<string> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  return new SignJWT({ kind })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(userId)
    .setIssuer(env.JWT_ISSUER)
    .setAudience(UNSUBSCRIBE_AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + UNSUBSCRIBE_TTL_SECONDS)
    .sign(await unsubscribeKey(env.JWT_SECRET));
}

/** The link itself, as it appears in emails (and in their List-Unsubscribe header). */
export async function unsubscribeUrl(env: Env, userId: string, kind: NotificationKind, now: Date): Promise<string> {
  return `${env.PUBLIC_URL}/api/account/notifications/unsubscribe?token=${await issueUnsubscribeToken(env, userId, kind, now)}`;
}

const invalidLink = () => badRequest("This unsubscribe link is invalid or has expired.");

/** The user and kind a token names; a 400 for anything else (forged, expired, another purpose, a deleted user). */
export async function readUnsubscribeToken({ db, env, now }: Pick<ServiceContext, "db" | "env" | "now">, token: string) {
  const secrets = [env.JWT_SECRET, env.JWT_SECRET_PREVIOUS].filter((s): s is string => Boolean(s));
  for (const secret of secrets) {
    const verified = await jwtVerify(token, await unsubscribeKey(secret), {
      algorithms: ["HS256"],
      issuer: env.JWT_ISSUER,
      audience: UNSUBSCRIBE_AUDIENCE,
      requiredClaims: ["exp", "sub"],
      currentDate: now,
    }).catch(() => null);
    if (!verified) continue;
    const kind = verified.payload.kind as NotificationKind;
    if (!NOTIFICATION_KINDS.includes(kind)) throw invalidLink();
    const [user] = await db.select({ userId: users.id, email: users.email }).from(users).where(eq(users.id, verified.payload.sub!));
    if (!user) throw invalidLink();
    return { ...user, kind, label: NOTIFICATION_KIND_LABELS[kind] };
  }
  throw invalidLink();
}

/**
 * Turns the token's kind off for its user, and only that kind. Idempotent (mail clients may repeat the
 * RFC 8058 POST): a second use answers that the user was already unsubscribed.
 */
export async function unsubscribe(ctx: Pick<ServiceContext, "db" | "env" | "now">, token: string) {
  const { userId, kind, label } = await readUnsubscribeToken(ctx, token);
  const wasOn = (await getNotificationPreferences(ctx, userId))[kind];
  if (wasOn) await updateNotificationPreferences(ctx, userId, { [kind]: false });
  const message = wasOn ? `You will no longer receive ${label} emails.` : `You were already unsubscribed from ${label} emails.`;
  return { message, kind };
}
