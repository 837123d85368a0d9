import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const bugReportRouter = createRouter()
  .openapi(routes.submitBugReport, handlers.submitBugReport)
  .openapi(routes.listBugReports, handlers.listBugReports)
  .openapi(routes.listKnownIssues, handlers.listKnownIssues);
