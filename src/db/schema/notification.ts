import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { AlertKind } from "../../domain/notification";
import { id, timestamp } from "./columns";
import { users } from "./identity";

/** A user's email alert choices; no row means every kind is on (the default). */
export const notificationPreferences = sqliteTable("notification_preferences", {
  userId: text("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  backupFailure: integer("backup_failure", { mode: "boolean" }).notNull().default(true),
  anomaly: integer("anomaly", { mode: "boolean" }).notNull().default(true),
  agentOffline: integer("agent_offline", { mode: "boolean" }).notNull().default(true),
  weeklyReport: integer("weekly_report", { mode: "boolean" }).notNull().default(true),
  updatedAt: timestamp("updated_at").notNull(),
});

/**
 * The throttle of one alert kind for one backup job or agent (the subject): the first occurrence is
 * emailed at once, the next ones of the following hour wait in `pending` for one batched email at
 * `flushAt`. `lastSentAt` null means reset (by a success): the next occurrence is emailed at once.
 * `version` makes every change a compare-and-set, as queue consumers and the sweep may race.
 */
export const alertThrottles = sqliteTable(
  "alert_throttles",
  {
    subjectId: text("subject_id").notNull(),
    kind: text("kind").$type<AlertKind>().notNull(),
    subscriberId: text("subscriber_id").notNull(),
    /** The job's or agent's name when it was last seen, for the batched email. */
    subjectName: text("subject_name").notNull(),
    lastSentAt: timestamp("last_sent_at"),
    /** When the occurrence handled last happened (an agent's disconnection: alerted once). */
    lastOccurredAt: timestamp("last_occurred_at").notNull(),
    pending: text("pending", { mode: "json" }).notNull().$type<string[]>(),
    pendingCount: integer("pending_count").notNull().default(0),
    flushAt: timestamp("flush_at"),
    version: integer("version").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.subjectId, t.kind] }),
    index("alert_throttles_flush_idx").on(t.flushAt),
    index("alert_throttles_last_occurred_idx").on(t.lastOccurredAt),
  ],
);

/** Events whose alerts could not be queued (the queue was down): the every-minute sweep queues them again. */
export const alertBacklog = sqliteTable("alert_backlog", {
  id: id(),
  eventIds: text("event_ids", { mode: "json" }).notNull().$type<string[]>(),
  createdAt: timestamp("created_at").notNull(),
});
