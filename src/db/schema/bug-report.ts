import { type AnySQLiteColumn, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { id, timestamp } from "./columns";
import { subscriberIdColumn, users } from "./identity";

export const BUG_CATEGORIES = ["backup", "restore", "agent", "billing", "ui", "api", "other"] as const;
export type BugCategory = (typeof BUG_CATEGORIES)[number];

export const BUG_SEVERITIES = ["low", "medium", "high", "critical"] as const;
export type BugSeverity = (typeof BUG_SEVERITIES)[number];

/** Shared by reports and known issues: a known issue's status follows the report it was published from. */
export const BUG_STATUSES = ["open", "in_progress", "resolved"] as const;
export type BugStatus = (typeof BUG_STATUSES)[number];

/** A subscriber's bug report, private to that subscriber and the operator. */
export const bugReports = sqliteTable(
  "bug_reports",
  {
    id: id(),
    subscriberId: subscriberIdColumn(),
    /** The reporter, emailed on status changes; null when the report came through an API key without a user. */
    userId: text("user_id").references(() => users.id, { onDelete: "set null" }),
    title: text("title").notNull(),
    description: text("description").notNull(),
    category: text("category", { enum: BUG_CATEGORIES }).notNull(),
    severity: text("severity", { enum: BUG_SEVERITIES }).notNull(),
    status: text("status", { enum: BUG_STATUSES }).notNull().default("open"),
    /** The public known issue this report is tracked under, once the operator publishes one. */
    knownIssueId: integer("known_issue_id").references((): AnySQLiteColumn => knownIssues.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at").notNull(),
    updatedAt: timestamp("updated_at").notNull(),
  },
  (t) => [
    index("bug_reports_subscriber_created_idx").on(t.subscriberId, t.createdAt),
    // The operator's triage list, filtered by status and newest first.
    index("bug_reports_status_created_idx").on(t.status, t.createdAt),
    index("bug_reports_created_idx").on(t.createdAt),
  ],
);

/**
 * The public list of acknowledged problems. Integer ids, as the seed shows them. Only what the operator
 * chose to publish lives here: never the reporter's description or identity.
 */
export const knownIssues = sqliteTable(
  "known_issues",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    title: text("title").notNull(),
    category: text("category", { enum: BUG_CATEGORIES }).notNull(),
    severity: text("severity", { enum: BUG_SEVERITIES }).notNull(),
    status: text("status", { enum: BUG_STATUSES }).notNull(),
    createdAt: timestamp("created_at").notNull(),
    /** Set when the status becomes resolved; the public list hides the issue 30 days later. */
    resolvedAt: timestamp("resolved_at"),
    /** The report it was published from; at most one known issue per report. */
    bugReportId: text("bug_report_id").references((): AnySQLiteColumn => bugReports.id, { onDelete: "set null" }),
  },
  (t) => [uniqueIndex("known_issues_bug_report_unique").on(t.bugReportId), index("known_issues_created_idx").on(t.createdAt)],
);
