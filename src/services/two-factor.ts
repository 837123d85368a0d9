import { and, eq, isNotNull, isNull, lt, or } from "drizzle-orm";
import { Secret, TOTP } from "otpauth";
import { recoveryCodes, users } from "../db/schema";
import { randomBytes, sha256Hex } from "../lib/crypto";
import { ApiError, badRequest } from "../lib/errors";
import { type ServiceContext, requireLoginSession } from "./context";
import { releaseLoginAttempts, reserveLoginAttempt } from "./rate-limit";
import { SECRET_BINDINGS, openSecret, sealSecret } from "./secret";

/** RFC 6238 as every authenticator app reads it: SHA-1, 6 digits, 30 s. */
const TOTP_PERIOD_S = 30;
const TOTP_DIGITS = 6;
/** One step either side of now: a phone's clock a little off, or a code typed as it rolled over. */
const TOTP_WINDOW = 1;
const ISSUER = "DataSync";
export const RECOVERY_CODE_COUNT = 10;

/** The TOTP state of a user, as login and the account endpoints read it. */
export interface TwoFactorUser {
  id: string;
  email: string;
  totpSecret: string | null;
  totpEnabledAt: Date | null;
}

export const twoFactorColumns = { id: users.id, email: users.email, totpSecret: users.totpSecret, totpEnabledAt: users.totpEnabledAt };

const totpFor = (email: string, base32: string) =>
  new TOTP({ issuer: ISSUER, label: email, algorithm: "SHA1", digits: TOTP_DIGITS, period: TOTP_PERIOD_S, secret: Secret.fromBase32(base32) });

const isTotpCode = (code: string) => /^\d{6}$/.test(code);

/** `xxxx-xxxx-xxxx-xxxx` in lower-case base32: 80 random bits, so SHA-256 is enough to store it. */
function newRecoveryCode(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  const chars = Array.from(randomBytes(16), (b) => alphabet[b & 31]);
  return [0, 4, 8, 12].map((i) => chars.slice(i, i + 4).join("")).join("-");
}

/** What a user types may differ in case, hyphens and spaces from what was shown. */
const recoveryCodeHash = (code: string) => sha256Hex(code.toLowerCase().replace(/[^a-z2-7]/g, ""));

async function loadTwoFactorUser({ db }: Pick<ServiceContext, "db">, userId: string): Promise<TwoFactorUser> {
  const [user] = await db.select(twoFactorColumns).from(users).where(eq(users.id, userId)).limit(1);
  if (!user) throw new ApiError("unauthorized", "Invalid or expired token.");
  return user;
}

/**
 * A TOTP code for the user's secret, accepted at most once: the step it belongs to must be later than the
 * last accepted one, recorded in the same statement that checks it, so a replay (or a race of two
 * requests with one code) in the same 30 s window is refused.
 */
async function acceptTotp({ db, env, now }: Pick<ServiceContext, "db" | "env" | "now">, user: TwoFactorUser, code: string): Promise<boolean> {
  if (!user.totpSecret || !isTotpCode(code)) return false;
  const totp = totpFor(user.email, await openSecret(env, user.totpSecret, SECRET_BINDINGS.totpSecret(user.id)));
  const delta = totp.validate({ token: code, timestamp: now.getTime(), window: TOTP_WINDOW });
  if (delta === null) return false;
  const step = Math.floor(now.getTime() / 1000 / TOTP_PERIOD_S) + delta;
  const accepted = await db
    .update(users)
    .set({ totpLastStep: step })
    .where(and(eq(users.id, user.id), or(isNull(users.totpLastStep), lt(users.totpLastStep, step))))
    .returning({ id: users.id });
  return accepted.length === 1;
}

/** An unused recovery code of the user, used up by this call (single use even under concurrency). */
async function useRecoveryCode({ db, now }: Pick<ServiceContext, "db" | "now">, userId: string, code: string): Promise<boolean> {
  const used = await db
    .update(recoveryCodes)
    .set({ usedAt: now })
    .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, await recoveryCodeHash(code)), isNull(recoveryCodes.usedAt)))
    .returning({ id: recoveryCodes.id });
  return used.length === 1;
}

/** Whether the user's second factor is on. */
export const hasTwoFactor = (user: Pick<TwoFactorUser, "totpEnabledAt">) => user.totpEnabledAt !== null;

/**
 * The `otp` of a login or an account deletion: a current TOTP code (6 digits) or one of the recovery
 * codes, each accepted once. The caller counts the attempt (the email's login limiter).
 */
export function acceptSecondFactor(ctx: Pick<ServiceContext, "db" | "env" | "now">, user: TwoFactorUser, otp: string | undefined): Promise<boolean> {
  if (!otp || !hasTwoFactor(user)) return Promise.resolve(false);
  return isTotpCode(otp) ? acceptTotp(ctx, user, otp) : useRecoveryCode(ctx, user.id, otp);
}

const alreadyOn = () => new ApiError("conflict", "Two-factor authentication is already on; turn it off first.");

/**
 * Starts 2FA setup: a fresh secret (sealed at rest), pending until `enableTwoFactor` proves the
 * authenticator has it. Setting up again before enabling replaces the pending secret.
 */
export async function setUpTwoFactor(ctx: ServiceContext) {
  const { db, env } = ctx;
  const { userId } = requireLoginSession(ctx.principal, "Setting up two-factor authentication");
  const user = await loadTwoFactorUser(ctx, userId);
  if (hasTwoFactor(user)) throw alreadyOn();
  const secret = new Secret({ size: 20 }).base32;
  const updated = await db
    .update(users)
    .set({ totpSecret: await sealSecret(env, secret, SECRET_BINDINGS.totpSecret(userId)), totpLastStep: null })
    .where(and(eq(users.id, userId), isNull(users.totpEnabledAt)))
    .returning({ id: users.id });
  if (updated.length === 0) throw alreadyOn();
  return { secret, otpauthUrl: totpFor(user.email, secret).toString() };
}

/** Turns 2FA on with a code from the pending secret; returns the recovery codes, the only time they are shown. */
export async function enableTwoFactor(ctx: ServiceContext, code: string): Promise<string[]> {
  const { db, now } = ctx;
  const { userId } = requireLoginSession(ctx.principal, "Enabling two-factor authentication");
  const user = await loadTwoFactorUser(ctx, userId);
  if (hasTwoFactor(user)) throw alreadyOn();
  if (!user.totpSecret) throw new ApiError("conflict", "Start with POST /api/account/2fa/setup: there is no secret to enable.");
  if (!(await acceptTotp(ctx, user, code))) throw badRequest("The code is not valid for the secret being set up.");
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  const rows = await Promise.all(codes.map(async (c) => ({ userId, codeHash: await recoveryCodeHash(c), createdAt: now })));
  const [enabled] = await db.batch([
    // Only the secret the code was checked against: a setup racing in between leaves 2FA off.
    db
      .update(users)
      .set({ totpEnabledAt: now })
      .where(and(eq(users.id, userId), isNull(users.totpEnabledAt), eq(users.totpSecret, user.totpSecret)))
      .returning({ id: users.id }),
    db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
    db.insert(recoveryCodes).values(rows),
  ]);
  if (enabled.length === 0) throw new ApiError("conflict", "The secret changed while enabling; set up again.");
  return codes;
}

/** Turns 2FA off with a current code or an unused recovery code; the secret and the recovery codes go. */
export async function disableTwoFactor(ctx: ServiceContext, proof: { code?: string; recoveryCode?: string }): Promise<void> {
  const { db, env, now } = ctx;
  const { userId } = requireLoginSession(ctx.principal, "Turning off two-factor authentication");
  const user = await loadTwoFactorUser(ctx, userId);
  if (!hasTwoFactor(user)) throw new ApiError("conflict", "Two-factor authentication is not on.");
  // Guessed codes count toward the email's login lock-out, as at login.
  await reserveLoginAttempt(env, user.email, now.getTime());
  const accepted = proof.code !== undefined ? await acceptTotp(ctx, user, proof.code) : await useRecoveryCode(ctx, userId, proof.recoveryCode ?? "");
  if (!accepted) throw new ApiError("invalid_otp", "The code is not valid, or was already used.");
  await releaseLoginAttempts(env, user.email);
  await db.batch([
    db.update(users).set({ totpSecret: null, totpEnabledAt: null, totpLastStep: null }).where(and(eq(users.id, userId), isNotNull(users.totpEnabledAt))),
    db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
  ]);
}
