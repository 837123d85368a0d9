import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../http/types";
import * as bugReports from "../../services/bug-report";
import type * as routes from "./routes";

type BugReportRow = Awaited<ReturnType<typeof bugReports.listOwnBugReports>>[number];
type KnownIssueRow = Awaited<ReturnType<typeof bugReports.listPublicKnownIssues>>[number];

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

export const submitBugReport: AppRouteHandler<typeof routes.submitBugReport> = async (c) => {
  const bugReportId = await bugReports.submitBugReport(c.var.ctx, c.req.valid("json"));
  return c.json({ bugReportId, message: "Bug report submitted." as const }, 200);
};

export const listBugReports: AppRouteHandler<typeof routes.listBugReports> = async (c) => {
  const rows = await bugReports.listOwnBugReports(c.var.ctx);
  return c.json(rows.map(toBugReport), 200);
};

export const listKnownIssues: AppRouteHandler<typeof routes.listKnownIssues> = async (c) => {
  const rows = await bugReports.listPublicKnownIssues(c.var.publicCtx);
  c.header("Cache-Control", KNOWN_ISSUES_CACHE_CONTROL);
  return c.json(rows.map(toKnownIssue), 200);
};
