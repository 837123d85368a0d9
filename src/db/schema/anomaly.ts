import { index, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { backupJobs } from "./backup";
import { timestamp } from "./columns";

/**
 * Scheduled times already reported as missed. The primary key makes a second report of the same time
 * fail inside its batch, so a missed run yields one anomaly however many sweeps see it.
 */
export const missedScheduleReports = sqliteTable(
  "missed_schedule_reports",
  {
    backupJobId: text("backup_job_id")
      .notNull()
      .references(() => backupJobs.id, { onDelete: "cascade" }),
    scheduledFor: timestamp("scheduled_for").notNull(),
    subscriberId: text("subscriber_id").notNull(),
    reportedAt: timestamp("reported_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.backupJobId, t.scheduledFor] }),
    // Housekeeping drops reports older than the sweep's look-back.
    index("missed_schedule_reports_scheduled_idx").on(t.scheduledFor),
  ],
);
