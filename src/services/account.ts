import { and, eq, isNull, sql } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import {
  agents,
  backupFiles,
  backupRuns,
  databases,
  emailTokens,
  engines,
  events,
  logMessages,
  missedScheduleReports,
  alertThrottles,
  subscribers,
  users,
  webhookDeliveries,
} from "../db/schema";
import { ApiError, forbidden, notFound, unauthorized } from "../lib/errors";
import { issueAccessToken } from "./access-token";
import { agentSession } from "./agent";
import { renewBrowserSession } from "./browser-session";
import { type ServiceContext, actingUserId, requireLoginSession } from "./context";
import { sendEmail } from "./email";
import { assertStrongPassword } from "./password-policy";
import { hashPassword, verifyPassword } from "./password";
import { refreshTenant, releaseLoginAttempts, reserveLoginAttempt } from "./rate-limit";
import { acceptSecondFactor, hasTwoFactor, twoFactorColumns } from "./two-factor";
import { PLAN_LIMITS } from "./plan";
import { usageColumns } from "./usage";

/**
 * The caller's account: the user (null fields, and 2FA off, for an API key whose creator is gone), the
 * subscriber, its plan's limits (null = unlimited) and how much of each it uses.
 */
export async function getAccount({ db, subscriberId, principal }: ServiceContext) {
  const userId = actingUserId(principal);
  // One statement, so one D1 round trip: the subscriber, the calling user (if any) and every count.
  const [row] = await db
    .select({
      subscriberId: subscribers.id,
      organisationName: subscribers.organisationName,
      plan: subscribers.plan,
      userId: users.id,
      forename: users.forename,
      email: users.email,
      totpEnabledAt: users.totpEnabledAt,
      usage: usageColumns(db, subscriberId),
    })
    .from(subscribers)
    .leftJoin(users, and(eq(users.subscriberId, subscribers.id), userId ? eq(users.id, userId) : sql`0`))
    .where(eq(subscribers.id, subscriberId))
    .limit(1);
  if (!row) throw notFound("Account not found.");
  const { features: _features, ...limits } = PLAN_LIMITS[row.plan];
  return {
    userId: row.userId,
    forename: row.forename,
    email: row.email,
    twoFactorEnabled: hasTwoFactor(row),
    subscriberId: row.subscriberId,
    organisationName: row.organisationName,
    plan: row.plan,
    limits,
    usage: row.usage,
  };
}

/** Profile fields a user may change: their own forename, and the subscriber's organisation name. */
export async function updateAccount(ctx: ServiceContext, input: { forename?: string; organisationName?: string | null }) {
  const { db, subscriberId, principal } = ctx;
  const userId = actingUserId(principal);
  if (input.forename !== undefined && !userId) throw forbidden("This API key has no user whose forename could change.");
  const changes = [];
  if (input.forename !== undefined) {
    changes.push(db.update(users).set({ forename: input.forename }).where(and(eq(users.id, userId!), eq(users.subscriberId, subscriberId))));
  }
  if (input.organisationName !== undefined) {
    changes.push(db.update(subscribers).set({ organisationName: input.organisationName || null }).where(eq(subscribers.id, subscriberId)));
  }
  if (changes.length > 0) await db.batch(changes as [(typeof changes)[number], ...typeof changes]);
  return getAccount(ctx);
}

/** The session's user with what re-authentication needs. */
async function sessionUser({ db, subscriberId }: ServiceContext, userId: string) {
  const [user] = await db
    .select({ ...twoFactorColumns, forename: users.forename, passwordHash: users.passwordHash })
    .from(users)
    .where(and(eq(users.id, userId), eq(users.subscriberId, subscriberId)))
    .limit(1);
  if (!user) throw unauthorized("Invalid or expired token.");
  return user;
}

/**
 * Re-checks the password (and the second factor when it is on) before an account change, as one of the
 * email's login attempts: guesses here count toward the same lock-out as login's (429 once spent).
 */
async function reauthenticate(
  ctx: ServiceContext,
  user: Awaited<ReturnType<typeof sessionUser>>,
  proof: { password: string; otp?: string },
): Promise<void> {
  await reserveLoginAttempt(ctx.env, user.email, ctx.now.getTime());
  if (!(await verifyPassword(proof.password, user.passwordHash))) throw new ApiError("wrong_password", "The password is incorrect.");
  if (hasTwoFactor(user) && !(await acceptSecondFactor(ctx, user, proof.otp))) {
    throw new ApiError("invalid_otp", "Two-factor authentication is on: send a current one-time code (or a recovery code) as otp.");
  }
  await releaseLoginAttempts(ctx.env, user.email);
}

/**
 * Changes the password with the current one. Every other session ends (the user's session generation
 * moves on, as a reset does); the calling session goes on with the fresh access token returned, and,
 * when it is the dashboard's cookie session, with a new cookie session (`browserSession`) too.
 */
export async function changePassword(ctx: ServiceContext, input: { currentPassword: string; newPassword: string }) {
  const { db, env, now, subscriberId } = ctx;
  const { userId, session } = requireLoginSession(ctx.principal, "Changing the password");
  const user = await sessionUser(ctx, userId);
  assertStrongPassword(input.newPassword, user.email);
  await reauthenticate(ctx, user, { password: input.currentPassword });
  const [[changed]] = await db.batch([
    db
      .update(users)
      .set({ passwordHash: await hashPassword(input.newPassword), sessionGeneration: sql`${users.sessionGeneration} + 1` })
      .where(and(eq(users.id, userId), eq(users.passwordHash, user.passwordHash)))
      .returning({ generation: users.sessionGeneration }),
    // A reset link sent before the change must not undo it.
    db
      .update(emailTokens)
      .set({ usedAt: now })
      .where(and(eq(emailTokens.userId, userId), eq(emailTokens.purpose, "reset_password"), isNull(emailTokens.usedAt))),
  ]);
  if (!changed) throw new ApiError("conflict", "The password was changed meanwhile; log in again.");
  await refreshTenant(env, subscriberId);
  await sendEmail(env, db, {
    to: user.email,
    subject: "Your DataSync password was changed",
    text: [`Hi ${user.forename},`, "", "The password of your DataSync account was just changed, and every other session was logged out.", "", "If it was not you, reset your password at once and contact support."].join("\n"),
  }, ctx.waitUntil);
  const owner = { userId, subscriberId, generation: changed.generation };
  const browserSession = session.via === "cookie" ? await renewBrowserSession(ctx, session, owner) : undefined;
  return { ...(await issueAccessToken(env, owner, now)), browserSession };
}

/**
 * Deletes the subscriber with the password (and a code when 2FA is on). In one batch: its activity rows
 * (events, logs, runs, files, deliveries, alert throttles, which have no foreign key to it), then the subscriber, whose
 * foreign keys cascade to users, keys, agents, jobs, destinations, credentials, webhooks and bug reports.
 * A public known issue published from one of its reports stays, without the report (it never held the
 * reporter's identity or text). Then: the limiter forgets it, so every token and key is refused from the
 * next request; each agent is told `agent.revoked` and disconnected; each user gets a final email.
 */
export async function deleteAccount(ctx: ServiceContext, proof: { password: string; otp?: string }): Promise<void> {
  const { db, env, subscriberId } = ctx;
  const { userId } = requireLoginSession(ctx.principal, "Deleting the account");
  await reauthenticate(ctx, await sessionUser(ctx, userId), proof);
  const [agentRows, userRows] = await db.batch([
    db.select({ id: agents.id }).from(agents).where(eq(agents.subscriberId, subscriberId)),
    db.select({ email: users.email, forename: users.forename }).from(users).where(eq(users.subscriberId, subscriberId)),
  ]);
  const owned = <T extends { subscriberId: AnySQLiteColumn }>(table: T) => eq(table.subscriberId, subscriberId);
  await db.batch([
    db.delete(webhookDeliveries).where(owned(webhookDeliveries)),
    db.delete(backupFiles).where(owned(backupFiles)),
    db.delete(backupRuns).where(owned(backupRuns)),
    db.delete(missedScheduleReports).where(owned(missedScheduleReports)),
    db.delete(events).where(owned(events)),
    db.delete(logMessages).where(owned(logMessages)),
    db.delete(databases).where(owned(databases)),
    db.delete(engines).where(owned(engines)),
    db.delete(alertThrottles).where(owned(alertThrottles)),
    db.delete(subscribers).where(eq(subscribers.id, subscriberId)),
  ]);
  await refreshTenant(env, subscriberId);
  await Promise.all(agentRows.map((agent) => agentSession(env, agent.id).revoke()));
  for (const user of userRows) {
    await sendEmail(env, db, {
      to: user.email,
      subject: "Your DataSync account was deleted",
      text: [`Hi ${user.forename},`, "", "Your DataSync account and its data were deleted, as asked. Its agents, API keys, webhooks and sessions no longer work.", "", "Backup files already in your own destinations are untouched.", "", "Thank you for using DataSync."].join("\n"),
    }, ctx.waitUntil);
  }
}
