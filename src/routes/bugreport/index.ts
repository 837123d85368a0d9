import { createRouter } from "../../lib/router";
import { listBugReportsHandler, listKnownIssuesHandler, submitBugReportHandler } from "./handlers";
import { listBugReports, listKnownIssues, submitBugReport } from "./routes";

export const bugReportRouter = createRouter()
  .openapi(submitBugReport, submitBugReportHandler)
  .openapi(listBugReports, listBugReportsHandler)
  .openapi(listKnownIssues, listKnownIssuesHandler);
