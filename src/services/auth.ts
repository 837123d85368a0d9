import { and, eq, exists, gt, isNull, lte, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type EMAIL_TOKEN_PURPOSES, emailTokens, revokedSessions, subscribers, users } from "../db/schema";
import { randomToken, sha256Hex } from "../lib/crypto";
import { ApiError, badRequest, unauthorized } from "../lib/errors";
import { issueAccessToken } from "./access-token";
import { type PublicContext, type ServiceContext, requireLoginSession } from "./context";
import { sendEmail } from "./email";
import { assertStrongPassword } from "./password-policy";
import { decoyPasswordHash, hashPassword, needsRehash, verifyPassword } from "./password";
import { acceptSecondFactor, hasTwoFactor, twoFactorColumns } from "./two-factor";
import { refreshTenant, releaseLoginAttempts, reserveLoginAttempt, takeEmailToAddress } from "./rate-limit";


type EmailTokenPurpose = (typeof EMAIL_TOKEN_PURPOSES)[number];

export const CONFIRM_EMAIL_TTL_MS = 24 * 60 * 60 * 1000;
export const RESET_PASSWORD_TTL_MS = 60 * 60 * 1000;

export const REGISTERED_MESSAGE = "Registration successful. Please check your email to confirm your account.";
export const RESET_REQUESTED_MESSAGE = "If that email exists, a reset link has been sent.";
/** One answer for a wrong password, an unknown email and an unconfirmed email: nothing to enumerate. */
export const LOGIN_FAILED_MESSAGE = "Email or password is incorrect, or the email address is not confirmed.";
export const OTP_REQUIRED_MESSAGE = "Two-factor authentication is on: send the one-time code from your authenticator app (or a recovery code) as otp.";
const OTP_REJECTED_MESSAGE = "The one-time code is not valid, or was already used.";
export const CONFIRMATION_RESENT_MESSAGE = "If that email is registered and not yet confirmed, a new confirmation link has been sent.";
const EMAIL_TAKEN_MESSAGE = "An account with this email address already exists.";

const normaliseEmail = (email: string) => email.trim().toLowerCase();

/** An email whose point is one link to `PUBLIC_URL` + `path` carrying a one-time token. */
function sendTokenLink(
  { db, env, waitUntil }: PublicContext,
  mail: { to: string; forename: string; subject: string; lead: string; path: string; token: string; closing: string },
) {
  const link = new URL(mail.path, env.PUBLIC_URL);
  link.searchParams.set("token", mail.token);
  const text = [`Hi ${mail.forename},`, "", mail.lead, "", link.toString(), "", mail.closing].join("\n");
  return sendEmail(env, db, { to: mail.to, subject: mail.subject, text }, waitUntil);
}

/** A fresh one-time token: the raw value goes into the email, only its SHA-256 into D1. */
async function newEmailToken(db: Db, userId: string, purpose: EmailTokenPurpose, now: Date, ttlMs: number) {
  const token = randomToken();
  const insert = db.insert(emailTokens).values({
    userId,
    purpose,
    tokenHash: await sha256Hex(token),
    expiresAt: new Date(now.getTime() + ttlMs),
    createdAt: now,
  });
  return { token, insert };
}

/** The unused, unexpired token of that purpose with its user, or null. */
async function findUsableToken(db: Db, purpose: EmailTokenPurpose, token: string, now: Date) {
  const [row] = await db
    .select({ tokenId: emailTokens.id, userId: users.id, subscriberId: users.subscriberId, email: users.email })
    .from(emailTokens)
    .innerJoin(users, eq(users.id, emailTokens.userId))
    .where(
      and(
        eq(emailTokens.tokenHash, await sha256Hex(token)),
        eq(emailTokens.purpose, purpose),
        isNull(emailTokens.usedAt),
        gt(emailTokens.expiresAt, now),
      ),
    )
    .limit(1);
  return row ?? null;
}

/** Guard for an update batched with the token's use: applies only while the token is still unused. */
function whileUnused(db: Db, tokenId: string) {
  return exists(
    db
      .select({ one: sql`1` })
      .from(emailTokens)
      .where(and(eq(emailTokens.id, tokenId), isNull(emailTokens.usedAt))),
  );
}

function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e.message.includes("UNIQUE constraint failed")) return true;
  }
  return false;
}

/** Creates the subscriber (Free) and its first user in one batch, then sends the confirmation email. */
export async function registerAccount(
  ctx: PublicContext,
  input: { forename: string; email: string; password: string; organisationName?: string },
): Promise<void> {
  const { db, now } = ctx;
  const email = normaliseEmail(input.email);
  assertStrongPassword(input.password, email);
  const [taken] = await db.select({ id: users.id }).from(users).where(eq(users.email, email)).limit(1);
  if (taken) throw badRequest(EMAIL_TAKEN_MESSAGE);

  const subscriberId = crypto.randomUUID();
  const userId = crypto.randomUUID();
  const confirmation = await newEmailToken(db, userId, "confirm_email", now, CONFIRM_EMAIL_TTL_MS);
  try {
    await db.batch([
      db.insert(subscribers).values({ id: subscriberId, organisationName: input.organisationName || null, plan: "Free", createdAt: now }),
      db.insert(users).values({
        id: userId,
        subscriberId,
        forename: input.forename,
        email,
        passwordHash: await hashPassword(input.password),
        createdAt: now,
      }),
      confirmation.insert,
    ]);
  } catch (err) {
    // Two registrations of one address racing past the check above: the unique index decides.
    if (isUniqueViolation(err)) throw badRequest(EMAIL_TAKEN_MESSAGE);
    throw err;
  }

  await sendConfirmation(ctx, { to: email, forename: input.forename, token: confirmation.token });
}

function sendConfirmation(ctx: PublicContext, mail: { to: string; forename: string; token: string }) {
  return sendTokenLink(ctx, {
    ...mail,
    subject: "Confirm your DataSync account",
    lead: "Welcome to DataSync. Confirm your email address by opening this link within 24 hours:",
    path: "/confirm-email",
    closing: "If you did not create an account, ignore this email.",
  });
}

/**
 * A new confirmation link (24 h) for a registered, unconfirmed address; silent otherwise, so the answer
 * says nothing about which addresses have accounts. 3 an hour per address, known or not.
 */
export async function resendConfirmation(ctx: PublicContext, rawEmail: string): Promise<void> {
  const { db, env, now } = ctx;
  const email = normaliseEmail(rawEmail);
  await takeEmailToAddress(env, "resend-confirmation", email, now.getTime());
  const [user] = await db
    .select({ id: users.id, forename: users.forename })
    .from(users)
    .where(and(eq(users.email, email), isNull(users.emailConfirmedAt)))
    .limit(1);
  if (!user) return;
  const confirmation = await newEmailToken(db, user.id, "confirm_email", now, CONFIRM_EMAIL_TTL_MS);
  await confirmation.insert;
  await sendConfirmation(ctx, { to: email, forename: user.forename, token: confirmation.token });
}

/**
 * Ends the session of the token used, server-side: its id is recorded until the token would have expired
 * and the subscriber's limiter refuses it from the next request. The user's other sessions go on.
 */
export async function logout(ctx: ServiceContext): Promise<void> {
  const { db, env, now, subscriberId } = ctx;
  const { userId, session } = requireLoginSession(ctx.principal, "Logging out");
  await db.batch([
    // Housekeeping on the way: a revoked token that has expired anyway needs no entry.
    db.delete(revokedSessions).where(and(eq(revokedSessions.subscriberId, subscriberId), lte(revokedSessions.expiresAt, now))),
    db
      .insert(revokedSessions)
      .values({ sessionId: session.sessionId, subscriberId, userId, expiresAt: session.expiresAt })
      .onConflictDoNothing(),
  ]);
  await refreshTenant(env, subscriberId);
}

/** Marks the email confirmed and the token used; 400 for an unknown, expired or used token. */
export async function confirmEmail({ db, now }: PublicContext, token: string): Promise<void> {
  const found = await findUsableToken(db, "confirm_email", token, now);
  if (!found) throw badRequest("Invalid or expired confirmation token.");
  const [, used] = await db.batch([
    db
      .update(users)
      .set({ emailConfirmedAt: sql`coalesce(${users.emailConfirmedAt}, ${now.getTime()})` })
      .where(and(eq(users.id, found.userId), whileUnused(db, found.tokenId))),
    db
      .update(emailTokens)
      .set({ usedAt: now })
      .where(and(eq(emailTokens.id, found.tokenId), isNull(emailTokens.usedAt)))
      .returning({ id: emailTokens.id }),
  ]);
  if (used.length === 0) throw badRequest("Invalid or expired confirmation token.");
}

/**
 * A session token for a confirmed user with the right password. Every failure costs one scrypt
 * verification (a decoy hash for unknown emails) and answers the same 401; after 10 failures for an
 * email in 15 minutes it is a 429 until the window moves on, even with the right password.
 */
export async function login(ctx: PublicContext, input: { email: string; password: string; otp?: string }) {
  const user = await verifyCredentials(ctx, input);
  return issueAccessToken(ctx.env, user, ctx.now);
}

/**
 * The checks of `login` (the email's attempt budget, password, confirmed email, second factor), shared
 * with the dashboard's cookie session (`POST /api/auth/session`) so both spend the same budget.
 */
export async function verifyCredentials(ctx: PublicContext, input: { email: string; password: string; otp?: string }) {
  const { db, env, now } = ctx;
  const email = normaliseEmail(input.email);
  // Reserved before scrypt runs: 40 parallel guesses get 10 verifications and 30 × 429, not 40 × 401.
  await reserveLoginAttempt(env, email, now.getTime());
  const [user] = await db
    .select({
      ...twoFactorColumns,
      subscriberId: users.subscriberId,
      passwordHash: users.passwordHash,
      emailConfirmedAt: users.emailConfirmedAt,
      sessionGeneration: users.sessionGeneration,
    })
    .from(users)
    .where(eq(users.email, email))
    .limit(1);
  const passwordMatches = await verifyPassword(input.password, user?.passwordHash ?? (await decoyPasswordHash()));
  if (!user || !passwordMatches || !user.emailConfirmedAt) throw unauthorized(LOGIN_FAILED_MESSAGE);
  // A missing or wrong code leaves this attempt counted: codes are guessed against the same lock-out.
  if (hasTwoFactor(user) && !(await acceptSecondFactor(ctx, user, input.otp))) {
    throw new ApiError("otp_required", input.otp ? OTP_REJECTED_MESSAGE : OTP_REQUIRED_MESSAGE, { headers: { "WWW-Authenticate": "Bearer" } });
  }
  await releaseLoginAttempts(env, email);
  if (needsRehash(user.passwordHash)) {
    // Upgraded to today's scrypt cost; unless the password changed meanwhile (a reset in between).
    await db
      .update(users)
      .set({ passwordHash: await hashPassword(input.password) })
      .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash)));
  }
  return { userId: user.id, subscriberId: user.subscriberId, generation: user.sessionGeneration };
}

/** Emails a reset link (1 hour, single use) when the address belongs to a user; silent otherwise. 3 an hour per address. */
export async function requestPasswordReset(ctx: PublicContext, rawEmail: string): Promise<void> {
  const { db, env, now } = ctx;
  const email = normaliseEmail(rawEmail);
  await takeEmailToAddress(env, "forgot-password", email, now.getTime());
  const [user] = await db.select({ id: users.id, forename: users.forename }).from(users).where(eq(users.email, email)).limit(1);
  if (!user) return;
  const reset = await newEmailToken(db, user.id, "reset_password", now, RESET_PASSWORD_TTL_MS);
  await reset.insert;
  await sendTokenLink(ctx, {
    to: email,
    forename: user.forename,
    subject: "Reset your DataSync password",
    lead: "Someone asked to reset the password of your DataSync account. Open this link within 1 hour to choose a new one:",
    path: "/reset-password",
    token: reset.token,
    closing: "If it was not you, ignore this email: your password stays as it is.",
  });
}

/**
 * Sets a new password from a reset token. Bumps the user's session generation, so every access token
 * issued before stops working from the next request, and uses up all of the user's outstanding reset
 * tokens. Following the emailed link also proves the address, so an unconfirmed email becomes confirmed.
 */
export async function resetPassword({ db, env, now }: PublicContext, input: { token: string; password: string }): Promise<void> {
  const found = await findUsableToken(db, "reset_password", input.token, now);
  if (!found) throw badRequest("Invalid or expired reset token.");
  assertStrongPassword(input.password, found.email);
  const passwordHash = await hashPassword(input.password);
  const [, used] = await db.batch([
    db
      .update(users)
      .set({
        passwordHash,
        sessionGeneration: sql`${users.sessionGeneration} + 1`,
        emailConfirmedAt: sql`coalesce(${users.emailConfirmedAt}, ${now.getTime()})`,
      })
      .where(and(eq(users.id, found.userId), whileUnused(db, found.tokenId))),
    db
      .update(emailTokens)
      .set({ usedAt: now })
      .where(and(eq(emailTokens.userId, found.userId), eq(emailTokens.purpose, "reset_password"), isNull(emailTokens.usedAt)))
      .returning({ id: emailTokens.id }),
  ]);
  if (!used.some((row) => row.id === found.tokenId)) throw badRequest("Invalid or expired reset token.");
  // The subscriber's limiter caches session generations: without this, old sessions live until it reloads.
  await refreshTenant(env, found.subscriberId);
}
