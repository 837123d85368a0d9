import { createMiddleware } from "hono/factory";
import { matchedRoutes } from "hono/route";
import type { Context } from "hono";
import { log } from "../lib/log";
import { recordMetric } from "../lib/metrics";
import type { AppBindings } from "../http/types";

/**
 * The route pattern that answered (`/api/backupjob/:id`), never the path itself: a pattern carries no
 * ids or query string and keeps the metrics' route dimension small. A path no route matched is `unmatched`.
 */
function routePattern(c: Context<AppBindings>): string {
  const handlers = matchedRoutes(c).filter((route) => route.method !== "ALL");
  return handlers.at(-1)?.path ?? "unmatched";
}

/**
 * One JSON log line and one metrics point per request, after the response is ready: requestId, method,
 * route pattern, status, duration, and who called by id only (subscriberId, and the API key's id).
 * A 429 is also counted as a rate-limit refusal.
 */
export const logRequest = createMiddleware<AppBindings>(async (c, next) => {
  const startedAt = performance.now();
  await next();
  // Workers only advance the clock across I/O, so this is the time spent waiting on D1, DOs and fetches.
  const durationMs = Math.round(performance.now() - startedAt);
  const route = routePattern(c);
  const { status } = c.res;
  const caller = c.get("caller") as AppBindings["Variables"]["caller"] | undefined;
  log.info("request", {
    requestId: c.get("requestId"),
    method: c.req.method,
    route,
    status,
    durationMs,
    subscriberId: caller?.subscriberId,
    apiKeyId: caller?.apiKeyId,
    ray: c.req.header("cf-ray"),
  });
  recordMetric(c.env, { event: "request", route, method: c.req.method, status, durationMs });
  // A refused token never reaches `ctx`, so the Authorization header tells the plan's budget from a public one.
  if (status === 429) recordMetric(c.env, { event: "rate_limited", route, budget: c.req.header("authorization") ? "plan" : "ip" });
});
