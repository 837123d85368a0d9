import { createRouter } from "../../lib/router";
import { listAllBugReportsHandler, triageBugReportHandler } from "./handlers";
import { listAllBugReports, triageBugReport } from "./routes";

export const adminBugReportRouter = createRouter()
  .openapi(listAllBugReports, listAllBugReportsHandler)
  .openapi(triageBugReport, triageBugReportHandler);
