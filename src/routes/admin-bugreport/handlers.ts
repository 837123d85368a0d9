import { clock } from "../../lib/clock";
import { pageOffset, setPaginationHeaders } from "../../lib/pagination";
import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../lib/types";
import { type TriageRow, listAllBugReports as listAll, triageBugReport as triage } from "../../services/bug-reports";
import type { listAllBugReports, triageBugReport } from "./routes";

function toAdminBugReport({ id, createdAt, updatedAt, knownIssue, ...report }: TriageRow) {
  return {
    bugReportId: id,
    ...report,
    createdAt: isoUtc(createdAt),
    updatedAt: isoUtc(updatedAt),
    knownIssue: knownIssue && {
      id: knownIssue.id,
      title: knownIssue.title,
      category: knownIssue.category,
      severity: knownIssue.severity,
      status: knownIssue.status,
      createdAt: isoUtc(knownIssue.createdAt),
    },
  };
}

export const listAllBugReportsHandler: AppRouteHandler<typeof listAllBugReports> = async (c) => {
  const { page, pageSize, ...filters } = c.req.valid("query");
  const { rows, total } = await listAll(c.var.db, filters, { limit: pageSize, offset: pageOffset({ page, pageSize }) });
  setPaginationHeaders(c, { page, pageSize }, total);
  return c.json(rows.map(toAdminBugReport), 200);
};

export const triageBugReportHandler: AppRouteHandler<typeof triageBugReport> = async (c) => {
  const row = await triage({ db: c.var.db, env: c.env, now: clock.now() }, c.req.valid("param").id, c.req.valid("json"));
  return c.json(toAdminBugReport(row), 200);
};
