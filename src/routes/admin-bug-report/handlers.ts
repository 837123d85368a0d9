import { setPaginationHeaders } from "../../http/pagination";
import type { AppRouteHandler } from "../../http/types";
import * as bugReports from "../../services/bug-report";
import { toBugReport, toKnownIssue } from "../bug-report/handlers";
import type * as routes from "./routes";

function toAdminBugReport(row: bugReports.TriageRow) {
  return {
    ...toBugReport(row),
    subscriberId: row.subscriberId,
    reporterEmail: row.reporterEmail,
    knownIssue: row.knownIssue && toKnownIssue(row.knownIssue),
  };
}

export const listAllBugReports: AppRouteHandler<typeof routes.listAllBugReports> = async (c) => {
  const { page, pageSize, ...filters } = c.req.valid("query");
  const { rows, total } = await bugReports.listAllBugReports(c.var.publicCtx, filters, { page, pageSize });
  setPaginationHeaders(c, { page, pageSize }, total);
  return c.json(rows.map(toAdminBugReport), 200);
};

export const triageBugReport: AppRouteHandler<typeof routes.triageBugReport> = async (c) => {
  const row = await bugReports.triageBugReport(c.var.publicCtx, c.req.valid("param").id, c.req.valid("json"));
  return c.json(toAdminBugReport(row), 200);
};
