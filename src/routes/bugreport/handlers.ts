import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../lib/types";
import { listOwnBugReports, listPublicKnownIssues, submitBugReport as submit } from "../../services/bug-reports";
import type { listBugReports, listKnownIssues, submitBugReport } from "./routes";

type BugReportRow = Awaited<ReturnType<typeof listOwnBugReports>>[number];
type KnownIssueRow = Awaited<ReturnType<typeof listPublicKnownIssues>>[number];

/** A report as its subscriber (and the operator) sees it. */
export function toBugReport({ id, title, description, category, severity, status, createdAt, updatedAt }: BugReportRow) {
  return { bugReportId: id, title, description, category, severity, status, createdAt: isoUtc(createdAt), updatedAt: isoUtc(updatedAt) };
}

/** The seed's known issue, field by field, so nothing else a row may carry can reach the public. */
export function toKnownIssue({ id, title, category, severity, status, createdAt }: KnownIssueRow) {
  return { id, title, category, severity, status, createdAt: isoUtc(createdAt) };
}

/** Shared caches and browsers may reuse the public list briefly; changes show within a minute. */
export const KNOWN_ISSUES_CACHE_CONTROL = "public, max-age=60";

export const submitBugReportHandler: AppRouteHandler<typeof submitBugReport> = async (c) => {
  const bugReportId = await submit(c.var.ctx, c.req.valid("json"));
  return c.json({ bugReportId, message: "Bug report submitted." as const }, 200);
};

export const listBugReportsHandler: AppRouteHandler<typeof listBugReports> = async (c) => {
  const rows = await listOwnBugReports(c.var.ctx);
  return c.json(rows.map(toBugReport), 200);
};

export const listKnownIssuesHandler: AppRouteHandler<typeof listKnownIssues> = async (c) => {
  const rows = await listPublicKnownIssues(c.var.publicCtx);
  c.header("Cache-Control", KNOWN_ISSUES_CACHE_CONTROL);
  return c.json(rows.map(toKnownIssue), 200);
};
