import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { id, timestamp } from "./columns";
import { subscriberIdColumn, users } from "./identity";

/**
 * The dashboard's sessions (`POST /api/auth/session`): the browser holds a random token in an HttpOnly
 * cookie, we keep only its SHA-256, so logging out (or expiry) ends the session on the server.
 */
export const browserSessions = sqliteTable(
  "browser_sessions",
  {
    id: id(),
    subscriberId: subscriberIdColumn(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull(),
    /** The user's session generation at login: a password reset ends the session like any token. */
    sessionGeneration: integer("session_generation").notNull(),
    expiresAt: timestamp("expires_at").notNull(),
    endedAt: timestamp("ended_at"),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("browser_sessions_token_unique").on(t.tokenHash),
    index("browser_sessions_user_idx").on(t.userId),
    index("browser_sessions_expires_idx").on(t.expiresAt),
  ],
);
