import { setPaginationHeaders } from "../../lib/pagination";
import type { AppRouteHandler } from "../../lib/types";
import { type TriageRow, listAllBugReports as listAll, triageBugReport as triage } from "../../services/bug-reports";
import { toBugReport, toKnownIssue } from "../bugreport/handlers";
import type { listAllBugReports, triageBugReport } from "./routes";

function toAdminBugReport(row: TriageRow) {
  return {
    ...toBugReport(row),
    subscriberId: row.subscriberId,
    reporterEmail: row.reporterEmail,
    knownIssue: row.knownIssue && toKnownIssue(row.knownIssue),
  };
}

export const listAllBugReportsHandler: AppRouteHandler<typeof listAllBugReports> = async (c) => {
  const { page, pageSize, ...filters } = c.req.valid("query");
  const { rows, total } = await listAll(c.var.publicCtx, filters, { page, pageSize });
  setPaginationHeaders(c, { page, pageSize }, total);
  return c.json(rows.map(toAdminBugReport), 200);
};

export const triageBugReportHandler: AppRouteHandler<typeof triageBugReport> = async (c) => {
  const row = await triage(c.var.publicCtx, c.req.valid("param").id, c.req.valid("json"));
  return c.json(toAdminBugReport(row), 200);
};
