import { type SQL, and, desc, eq, gt, ne, or, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db/client";
import { type BugCategory, type BugSeverity, type BugStatus, bugReports, knownIssues, users } from "../db/schema";
import { notFound } from "../lib/errors";
import { type Pagination, pageOffset } from "../lib/pagination";
import { type PublicContext, type ServiceContext, actingUserId } from "./context";
import { sendEmail } from "./email";

/** A resolved known issue stays on the public list this long after it was resolved. */
export const RESOLVED_KNOWN_ISSUE_VISIBLE_MS = 30 * 24 * 60 * 60 * 1000;

export interface BugReportInput {
  title: string;
  description: string;
  category: BugCategory;
  severity: BugSeverity;
}

export interface KnownIssueInput {
  title?: string;
  category?: BugCategory;
  severity?: BugSeverity;
}

/** What the reporter sees of a report. */
const reportColumns = {
  id: bugReports.id,
  title: bugReports.title,
  description: bugReports.description,
  category: bugReports.category,
  severity: bugReports.severity,
  status: bugReports.status,
  createdAt: bugReports.createdAt,
  updatedAt: bugReports.updatedAt,
};

/** What everybody sees of a known issue: the operator's published wording, nothing about the reporter. */
const publishedKnownIssueColumns = {
  id: knownIssues.id,
  title: knownIssues.title,
  category: knownIssues.category,
  severity: knownIssues.severity,
  status: knownIssues.status,
  createdAt: knownIssues.createdAt,
};

/** Reports of the same instant still list in the order they were filed. */
const newestReportFirst = [desc(bugReports.createdAt), desc(sql`${bugReports}.rowid`)];

export async function submitBugReport({ db, subscriberId, now, principal }: ServiceContext, input: BugReportInput) {
  const userId = actingUserId(principal);
  const id = crypto.randomUUID();
  await db.insert(bugReports).values({ id, subscriberId, userId, ...input, status: "open", createdAt: now, updatedAt: now });
  return id;
}

export function listOwnBugReports({ db, subscriberId }: ServiceContext) {
  return db
    .select(reportColumns)
    .from(bugReports)
    .where(eq(bugReports.subscriberId, subscriberId))
    .orderBy(...newestReportFirst);
}

/** The public list: only the columns the operator published, resolved issues dropping off after 30 days. */
export function listPublicKnownIssues({ db, now }: PublicContext) {
  const hideResolvedBefore = new Date(now.getTime() - RESOLVED_KNOWN_ISSUE_VISIBLE_MS);
  return db
    .select(publishedKnownIssueColumns)
    .from(knownIssues)
    .where(or(ne(knownIssues.status, "resolved"), gt(knownIssues.resolvedAt, hideResolvedBefore)))
    .orderBy(desc(knownIssues.createdAt), desc(knownIssues.id));
}

/**
 * Who hears about status changes: the user who filed the report or, when that user is gone (or the
 * report came through an API key without one), the subscriber's first user, the account owner.
 */
const reporterEmail = sql<string | null>`coalesce(${users.email}, (
  select owner.email from ${users} owner where owner.subscriber_id = ${bugReports.subscriberId}
  order by owner.created_at limit 1))`;

function selectTriageRows(db: Db, where: SQL | undefined) {
  return db
    .select({
      ...reportColumns,
      subscriberId: bugReports.subscriberId,
      reporterEmail,
      knownIssue: { ...publishedKnownIssueColumns, resolvedAt: knownIssues.resolvedAt },
    })
    .from(bugReports)
    .leftJoin(users, eq(users.id, bugReports.userId))
    .leftJoin(knownIssues, eq(knownIssues.id, bugReports.knownIssueId))
    .where(where)
    .orderBy(...newestReportFirst);
}

export type TriageRow = Awaited<ReturnType<typeof selectTriageRows>>[number];

/** The operator's view: every subscriber's reports, with who filed them and the published known issue, one page at a time. */
export async function listAllBugReports(
  { db }: PublicContext,
  filters: { status?: BugStatus; category?: BugCategory },
  page: Pagination,
) {
  const where = and(
    filters.status ? eq(bugReports.status, filters.status) : undefined,
    filters.category ? eq(bugReports.category, filters.category) : undefined,
  );
  const [rows, total] = await Promise.all([
    selectTriageRows(db, where).limit(page.pageSize).offset(pageOffset(page)),
    db.$count(bugReports, where),
  ]);
  return { rows, total };
}

async function findTriageRow(db: Db, bugReportId: string): Promise<TriageRow> {
  const [row] = await selectTriageRows(db, eq(bugReports.id, bugReportId)).limit(1);
  if (!row) throw notFound("Bug report not found.");
  return row;
}

const STATUS_WORDS: Record<BugStatus, string> = { open: "open", in_progress: "in progress", resolved: "resolved" };

/**
 * The operator sets a report's status and optionally publishes (or edits) its known issue, whose status
 * always follows the report's. The reporter is emailed when, and only when, the status changes.
 */
export async function triageBugReport(
  { db, env, now }: PublicContext,
  bugReportId: string,
  update: { status: BugStatus; knownIssue?: KnownIssueInput },
): Promise<TriageRow> {
  const report = await findTriageRow(db, bugReportId);
  const statusChanged = report.status !== update.status;
  const resolvedAt =
    update.status !== "resolved" ? null : report.knownIssue?.status === "resolved" ? report.knownIssue.resolvedAt : now;

  const writes: BatchItem<"sqlite">[] = [];
  if (statusChanged) {
    writes.push(db.update(bugReports).set({ status: update.status, updatedAt: now }).where(eq(bugReports.id, bugReportId)));
  }
  if (report.knownIssue) {
    writes.push(
      db
        .update(knownIssues)
        .set({ ...update.knownIssue, status: update.status, resolvedAt })
        .where(eq(knownIssues.id, report.knownIssue.id)),
    );
  } else if (update.knownIssue) {
    writes.push(
      db
        .insert(knownIssues)
        .values({
          title: update.knownIssue.title ?? report.title,
          category: update.knownIssue.category ?? report.category,
          severity: update.knownIssue.severity ?? report.severity,
          status: update.status,
          createdAt: now,
          resolvedAt,
          bugReportId,
        })
        // Two operators publishing the same report at once: the first wins, the second links to it.
        .onConflictDoNothing({ target: knownIssues.bugReportId }),
      db
        .update(bugReports)
        .set({ knownIssueId: sql`(select ${knownIssues.id} from ${knownIssues} where ${knownIssues.bugReportId} = ${bugReportId})` })
        .where(eq(bugReports.id, bugReportId)),
    );
  }
  if (writes.length > 0) await db.batch(writes as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);

  const updated = await findTriageRow(db, bugReportId);
  if (statusChanged && updated.reporterEmail) {
    await sendEmail(env, db, statusChangeEmail(updated.reporterEmail, updated, report.status));
  }
  return updated;
}

function statusChangeEmail(to: string, report: TriageRow, previous: BugStatus) {
  const lines = [
    `The status of your bug report "${report.title}" changed from ${STATUS_WORDS[previous]} to ${STATUS_WORDS[report.status]}.`,
    "",
    `Bug report id: ${report.id}`,
  ];
  if (report.knownIssue) {
    lines.push(`It is listed publicly as known issue #${report.knownIssue.id}.`);
  }
  lines.push("", "Thank you for helping us improve DataSync.");
  return { to, subject: `Your bug report is ${STATUS_WORDS[report.status]}: ${report.title}`, text: lines.join("\n") };
}
