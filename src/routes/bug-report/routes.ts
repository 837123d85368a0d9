import { createRoute, z } from "@hono/zod-openapi";
import { RETAINED_304_HEADERS, etag } from "hono/etag";
import { errorResponses, jsonBody, jsonResponse } from "../../http/router";
import { authenticated } from "../../middleware/auth";
import { BugReportCreateSchema, BugReportCreatedSchema, BugReportSchema, KnownIssueSchema } from "./schemas";

export const submitBugReport = createRoute({
  operationId: "submitBugReport",
  method: "post",
  path: "/api/bugreport",
  tags: ["Bug reports"],
  summary: "Submit a bug report; you are emailed when its status changes",
  ...authenticated,
  request: { body: jsonBody(BugReportCreateSchema) },
  responses: {
    200: jsonResponse(BugReportCreatedSchema, "Bug report submitted"),
    ...errorResponses(400, 401),
  },
});

export const listBugReports = createRoute({
  operationId: "listBugReports",
  method: "get",
  path: "/api/bugreport",
  tags: ["Bug reports"],
  summary: "Your subscriber's bug reports with their status, newest first",
  ...authenticated,
  responses: {
    200: jsonResponse(z.array(BugReportSchema), "Your bug reports"),
    ...errorResponses(401),
  },
});

export const listKnownIssues = createRoute({
  operationId: "listKnownIssues",
  security: [],
  method: "get",
  path: "/api/bugreport/known",
  tags: ["Bug reports"],
  summary: "Acknowledged known issues (public; resolved ones drop off 30 days after resolution)",
  // A repeat with the ETag in If-None-Match gets an empty 304; the request id stays for tracing.
  middleware: [etag({ retainedHeaders: [...RETAINED_304_HEADERS, "x-request-id"] })] as const,
  responses: {
    200: jsonResponse(z.array(KnownIssueSchema), "Known issues returned"),
    304: { description: "Not modified: the list still matches the If-None-Match ETag" },
  },
});
