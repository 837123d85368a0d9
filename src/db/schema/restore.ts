import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { RESTORE_STATUSES } from "../../domain/restore";
import { id, timestamp } from "./columns";

export { RESTORE_STATUSES, type RestoreStatus } from "../../domain/restore";

/**
 * A restore of a backup file (and the chain it builds on) into a database on one agent. No foreign keys:
 * like run history it outlives a deleted file, job or agent.
 */
export const restores = sqliteTable(
  "restores",
  {
    id: id(),
    subscriberId: text("subscriber_id").notNull(),
    backupFileId: text("backup_file_id").notNull(),
    agentId: text("agent_id").notNull(),
    targetDatabaseName: text("target_database_name").notNull(),
    overwrite: integer("overwrite", { mode: "boolean" }).notNull(),
    status: text("status", { enum: RESTORE_STATUSES }).notNull(),
    bytesDone: integer("bytes_done").notNull().default(0),
    tables: integer("tables"),
    rows: integer("rows"),
    startedUtc: timestamp("started_utc"),
    finishedUtc: timestamp("finished_utc"),
    error: text("error"),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [index("restores_subscriber_created_idx").on(t.subscriberId, t.createdAt, t.id), index("restores_status_created_idx").on(t.status, t.createdAt)],
);

/** A verification drill: a job's latest backup restored into a scratch database, counted, then dropped. */
export const verifications = sqliteTable(
  "verifications",
  {
    id: id(),
    subscriberId: text("subscriber_id").notNull(),
    backupJobId: text("backup_job_id").notNull(),
    backupFileId: text("backup_file_id").notNull(),
    agentId: text("agent_id").notNull(),
    status: text("status", { enum: RESTORE_STATUSES }).notNull(),
    tables: integer("tables"),
    rows: integer("rows"),
    durationMs: integer("duration_ms"),
    startedUtc: timestamp("started_utc"),
    finishedUtc: timestamp("finished_utc"),
    error: text("error"),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [
    index("verifications_subscriber_job_created_idx").on(t.subscriberId, t.backupJobId, t.createdAt, t.id),
    // The sweep that fails drills never finished looks only at unfinished rows, oldest first.
    index("verifications_status_created_idx").on(t.status, t.createdAt),
  ],
);
