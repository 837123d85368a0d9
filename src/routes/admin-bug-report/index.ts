import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const adminBugReportRouter = createRouter()
  .openapi(routes.listAllBugReports, handlers.listAllBugReports)
  .openapi(routes.triageBugReport, handlers.triageBugReport);
