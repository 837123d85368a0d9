import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { createRouter, jsonResponse } from "../../http/router";
import type { AppRouteHandler } from "../../http/types";

const HealthSchema = z.object({ status: z.literal("ok") }).openapi("Health");

export const health = createRoute({
  operationId: "health",
  security: [],
  method: "get",
  path: "/api/health",
  tags: ["Service"],
  summary: "Readiness check (runs a trivial D1 query)",
  responses: { 200: jsonResponse(HealthSchema, "The API and its database answer") },
});

const healthHandler: AppRouteHandler<typeof health> = async (c) => {
  await c.var.publicCtx.db.run(sql`select 1`);
  return c.json({ status: "ok" as const }, 200);
};

export const healthRouter = createRouter().openapi(health, healthHandler);
