import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { createRouter, errorResponses, jsonResponse } from "../../http/router";
import type { AppRouteHandler } from "../../http/types";
import { deepHealth } from "../../services/health";

const CheckSchema = z
  .object({
    ok: z.boolean(),
    binding: z.string().openapi({ example: "DB" }),
    latencyMs: z.number().int(),
    migration: z.string().optional().openapi({ example: "0000_init.sql" }),
    error: z.string().optional(),
  })
  .openapi("HealthCheck");

const ChecksSchema = z.object({ d1: CheckSchema, durableObject: CheckSchema, queue: CheckSchema });

const HealthSchema = z.object({ status: z.literal("ok"), checks: ChecksSchema.optional() }).openapi("Health");

const UnhealthySchema = z
  .object({
    status: z.literal("unhealthy"),
    error: z.string().openapi({ example: "Unhealthy: d1 (DB): no such table: d1_migrations." }),
    failed: z.array(z.enum(["d1", "durableObject", "queue"])),
    checks: ChecksSchema,
  })
  .openapi("Unhealthy");

export const health = createRoute({
  operationId: "health",
  security: [],
  method: "get",
  path: "/api/health",
  tags: ["Service"],
  summary: "Readiness check; with deep=1, a real call to D1, a Durable Object and the webhook queue",
  description:
    "Without `deep`, one trivial D1 query. With `deep=1` (for uptime monitors): the newest applied migration is read from D1, a " +
    "Durable Object answers a read-only call and a probe message is sent to the webhook queue; 503 names each part that failed. " +
    "A deep result is reused for 10 seconds.",
  request: { query: z.object({ deep: z.enum(["0", "1", "true", "false"]).optional() }) },
  responses: {
    200: jsonResponse(HealthSchema, "The API and what it depends on answer"),
    ...errorResponses(400),
    503: jsonResponse(UnhealthySchema, "A deep check failed: `failed` names the parts"),
  },
});

const healthHandler: AppRouteHandler<typeof health> = async (c) => {
  c.header("Cache-Control", "no-store");
  const { deep } = c.req.valid("query");
  if (deep !== "1" && deep !== "true") {
    await c.var.publicCtx.db.run(sql`select 1`);
    return c.json({ status: "ok" as const }, 200);
  }
  const result = await deepHealth(c.env);
  if (result.ok) return c.json({ status: "ok" as const, checks: result.checks }, 200);
  const named = result.failed.map((name) => `${name} (${result.checks[name].binding}): ${result.checks[name].error}`);
  return c.json({ status: "unhealthy" as const, error: `Unhealthy: ${named.join("; ")}.`, failed: result.failed, checks: result.checks }, 503);
};

export const healthRouter = createRouter().openapi(health, healthHandler);
