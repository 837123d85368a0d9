import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { id, timestamp } from "./columns";

export const PLANS = ["Free", "Starter", "Professional", "Ultimate"] as const;
export type PlanName = (typeof PLANS)[number];

/** The tenant: every resource belongs to one subscriber. */
export const subscribers = sqliteTable("subscribers", {
  id: id(),
  organisationName: text("organisation_name"),
  plan: text("plan", { enum: PLANS }).notNull().default("Free"),
  createdAt: timestamp("created_at").notNull(),
});

/** The owning subscriber of a row: every resource belongs to one, and goes with it. */
export const subscriberIdColumn = () =>
  text("subscriber_id")
    .notNull()
    .references(() => subscribers.id, { onDelete: "cascade" });

export const users = sqliteTable(
  "users",
  {
    id: id(),
    subscriberId: subscriberIdColumn(),
    forename: text("forename").notNull(),
    /** Stored lower-cased: emails compare case-insensitively. */
    email: text("email").notNull(),
    /** `scrypt$N$r$p$<salt b64>$<hash b64>`: the parameters travel with the hash. */
    passwordHash: text("password_hash").notNull(),
    emailConfirmedAt: timestamp("email_confirmed_at"),
    /** Carried in each access token as `gen`; a password reset bumps it, so older sessions stop working. */
    sessionGeneration: integer("session_generation").notNull().default(0),
    /** The TOTP secret, sealed (services/secret.ts); set by 2FA setup, in force once `totpEnabledAt` is set. */
    totpSecret: text("totp_secret"),
    totpEnabledAt: timestamp("totp_enabled_at"),
    /** The 30 s step of the last TOTP code accepted: a code is only accepted for a later step (no replay). */
    totpLastStep: integer("totp_last_step"),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [uniqueIndex("users_email_unique").on(t.email), index("users_subscriber_idx").on(t.subscriberId)],
);

/** Single-use 2FA recovery codes, shown once at enable time and stored as SHA-256 only. */
export const recoveryCodes = sqliteTable(
  "recovery_codes",
  {
    id: id(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    codeHash: text("code_hash").notNull(),
    usedAt: timestamp("used_at"),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [uniqueIndex("recovery_codes_user_hash_unique").on(t.userId, t.codeHash)],
);

/**
 * Access tokens ended before their expiry by a logout, by `jti`. Kept until the token would have
 * expired anyway; the subscriber's limiter caches the live ones (see TenantRateLimiter).
 */
export const revokedSessions = sqliteTable(
  "revoked_sessions",
  {
    sessionId: text("session_id").primaryKey(),
    subscriberId: subscriberIdColumn(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    expiresAt: timestamp("expires_at").notNull(),
  },
  (t) => [index("revoked_sessions_subscriber_expires_idx").on(t.subscriberId, t.expiresAt)],
);

export const EMAIL_TOKEN_PURPOSES = ["confirm_email", "reset_password"] as const;

/** One-time tokens sent by email, stored as SHA-256 only. */
export const emailTokens = sqliteTable(
  "email_tokens",
  {
    id: id(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    purpose: text("purpose", { enum: EMAIL_TOKEN_PURPOSES }).notNull(),
    tokenHash: text("token_hash").notNull(),
    expiresAt: timestamp("expires_at").notNull(),
    usedAt: timestamp("used_at"),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("email_tokens_hash_unique").on(t.tokenHash),
    index("email_tokens_user_idx").on(t.userId),
    index("email_tokens_expires_idx").on(t.expiresAt),
  ],
);

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: id(),
    subscriberId: subscriberIdColumn(),
    createdByUserId: text("created_by_user_id").references(() => users.id, { onDelete: "set null" }),
    name: text("name").notNull(),
    /** First characters of the key, shown in lists so a user can tell keys apart. */
    prefix: text("prefix").notNull(),
    keyHash: text("key_hash").notNull(),
    createdAt: timestamp("created_at").notNull(),
    lastUsedAt: timestamp("last_used_at"),
    revokedAt: timestamp("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash_unique").on(t.keyHash), index("api_keys_subscriber_idx").on(t.subscriberId, t.createdAt)],
);

/** Every email the platform sends, kept so local development can follow confirmation and reset links. */
export const outboxEmails = sqliteTable(
  "outbox_emails",
  {
    id: id(),
    to: text("to").notNull(),
    subject: text("subject").notNull(),
    text: text("text").notNull(),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [index("outbox_created_idx").on(t.createdAt)],
);

export const integerFlag = (name: string) => integer(name, { mode: "boolean" });
