import { createRoute, z } from "@hono/zod-openapi";
import { PAGINATION_HEADERS } from "../../http/pagination";
import { errorResponses, jsonBody, jsonResponse } from "../../http/router";
import { operatorOnly } from "../../middleware/auth";
import { AdminBugReportQuerySchema, AdminBugReportSchema, BugReportIdParamsSchema, BugReportTriageSchema } from "./schemas";

export const listAllBugReports = createRoute({
  operationId: "listAllBugReports",
  method: "get",
  path: "/api/admin/bugreport",
  tags: ["Operator"],
  summary: "Every subscriber's bug reports, newest first, optionally filtered by status and category (paginated)",
  ...operatorOnly,
  request: { query: AdminBugReportQuerySchema },
  responses: {
    200: { ...jsonResponse(z.array(AdminBugReportSchema), "Bug reports"), headers: PAGINATION_HEADERS },
    ...errorResponses(400, 401),
  },
});

export const triageBugReport = createRoute({
  operationId: "triageBugReport",
  method: "put",
  path: "/api/admin/bugreport/{id}",
  tags: ["Operator"],
  summary: "Set a report's status (the reporter is emailed on a change) and publish or edit its known issue",
  ...operatorOnly,
  request: { params: BugReportIdParamsSchema, body: jsonBody(BugReportTriageSchema) },
  responses: {
    200: jsonResponse(AdminBugReportSchema, "Bug report updated"),
    ...errorResponses(400, 401, 404),
  },
});
