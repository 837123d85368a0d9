import { createRoute, z } from "@hono/zod-openapi";
import { PAGINATION_HEADERS } from "../../lib/pagination";
import { authenticated, errorResponses } from "../../lib/router";
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
