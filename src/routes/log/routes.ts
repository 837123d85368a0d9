import { createRoute, z } from "@hono/zod-openapi";
import { PAGINATION_HEADERS } from "../../http/pagination";
import { errorResponses } from "../../http/router";
import { authenticated } from "../../middleware/auth";
import { LogMessageSchema, LogQuerySchema } from "./schemas";

export const listLogs = createRoute({
  operationId: "listLogs",
  method: "get",
  path: "/api/log",
  tags: ["Logs"],
  summary: "Log messages from your agents and the platform, newest first, paginated",
  ...authenticated,
  request: { query: LogQuerySchema },
  responses: {
    200: {
      description: "Log entries returned",
      headers: PAGINATION_HEADERS,
      content: { "application/json": { schema: z.array(LogMessageSchema) } },
    },
    ...errorResponses(400, 401),
  },
});
