import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses, jsonResponse } from "../../http/router";
import { authenticated } from "../../middleware/auth";
import { DatabaseQuerySchema, DatabaseSchema } from "./schemas";

export const listDatabases = createRoute({
  operationId: "listDatabases",
  method: "get",
  path: "/api/database",
  tags: ["Databases"],
  summary: "All databases your agents discovered (filter by agentId)",
  ...authenticated,
  request: { query: DatabaseQuerySchema },
  responses: { 200: jsonResponse(z.array(DatabaseSchema), "Database list returned"), ...errorResponses(400, 401) },
});
