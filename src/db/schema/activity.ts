import { index, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { id, timestamp } from "./columns";
import { EVENT_TYPES } from "../../domain/event";
import { LOG_SEVERITIES } from "../../domain/log";

export { EVENT_TYPES, type EventType } from "../../domain/event";
export { LOG_SEVERITIES, type LogSeverity } from "../../domain/log";

/** Things that happened, recorded once; the webhooks deliver them. `data` is the event's JSON payload. */
export const events = sqliteTable(
  "events",
  {
    id: id(),
    subscriberId: text("subscriber_id").notNull(),
    type: text("type", { enum: EVENT_TYPES }).notNull(),
    data: text("data", { mode: "json" }).notNull().$type<Record<string, unknown>>(),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [
    index("events_subscriber_created_idx").on(t.subscriberId, t.createdAt),
    // Housekeeping deletes events by age over all subscribers.
    index("events_created_idx").on(t.createdAt),
  ],
);

/** Log entries from agents (`log` frames) and from the platform itself (`agentId` null or the agent concerned). */
export const logMessages = sqliteTable(
  "log_messages",
  {
    id: id(),
    subscriberId: text("subscriber_id").notNull(),
    agentId: text("agent_id"),
    backupJobId: text("backup_job_id"),
    source: text("source", { enum: ["agent", "platform"] }).notNull(),
    severity: text("severity", { enum: LOG_SEVERITIES }).notNull(),
    message: text("message").notNull(),
    timestamp: timestamp("timestamp").notNull(),
  },
  (t) => [
    // Every query filters by subscriber first, so its cost does not depend on other subscribers' rows.
    // `id` last: pages are ordered by (timestamp, id) straight from the index, without a sort.
    index("log_messages_subscriber_time_idx").on(t.subscriberId, t.timestamp, t.id),
    index("log_messages_subscriber_agent_time_idx").on(t.subscriberId, t.agentId, t.timestamp, t.id),
    index("log_messages_subscriber_severity_time_idx").on(t.subscriberId, t.severity, t.timestamp, t.id),
    index("log_messages_time_idx").on(t.timestamp),
  ],
);
