import { clock } from "../../lib/clock";
import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../lib/types";
import { listOwnBugReports, listPublicKnownIssues, submitBugReport as submit } from "../../services/bug-reports";
import type { listBugReports, listKnownIssues, submitBugReport } from "./routes";

/** Shared caches and browsers may reuse the public list briefly; changes show within a minute. */
export const KNOWN_ISSUES_CACHE_CONTROL = "public, max-age=60";

export const submitBugReportHandler: AppRouteHandler<typeof submitBugReport> = async (c) => {
  const { subscriberId, userId } = c.var.auth;
  const bugReportId = await submit({ db: c.var.db, subscriberId, now: clock.now() }, userId, c.req.valid("json"));
  return c.json({ bugReportId, message: "Bug report submitted." as const }, 200);
};

export const listBugReportsHandler: AppRouteHandler<typeof listBugReports> = async (c) => {
  const rows = await listOwnBugReports({ db: c.var.db, subscriberId: c.var.auth.subscriberId });
  return c.json(
    rows.map(({ id, createdAt, updatedAt, ...report }) => ({
      bugReportId: id,
      ...report,
      createdAt: isoUtc(createdAt),
      updatedAt: isoUtc(updatedAt),
    })),
    200,
  );
};

export const listKnownIssuesHandler: AppRouteHandler<typeof listKnownIssues> = async (c) => {
  const rows = await listPublicKnownIssues({ db: c.var.db, now: clock.now() });
  c.header("Cache-Control", KNOWN_ISSUES_CACHE_CONTROL);
  return c.json(
    rows.map((issue) => ({ ...issue, createdAt: isoUtc(issue.createdAt) })),
    200,
  );
};
