import { createMiddleware } from "hono/factory";
import { tenantDb } from "../db/tenant";
import { timingSafeEqual } from "../lib/crypto";
import { ApiError, unauthorized } from "../lib/errors";
import type { AppBindings } from "../http/types";
import { API_KEY_PREFIX, authenticateBearer, bearerToken } from "../services/bearer-auth";
import { assertCredentialBudget, rateLimitHeaders, recordCredentialFailure } from "../services/rate-limit";

/**
 * Every non-public route: a JWT session or an API key, resolved to the request's service context
 * (`c.var.ctx`), and one request of the subscriber's plan budget spent. Every response after this point,
 * errors included, carries the `RateLimit-*` headers.
 */
export const requireAuth = createMiddleware<AppBindings>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) throw unauthorized("Missing bearer token.");
  // An API key costs a D1 look-up: a client IP gets a budget of failed ones.
  const clientIp = token.startsWith(API_KEY_PREFIX) ? c.req.header("cf-connecting-ip") : undefined;
  const now = c.var.publicCtx.now;
  assertCredentialBudget("apiKey", clientIp, now.getTime());
  // The lastUsedAt write runs beside the handler and is awaited before the response leaves.
  const pending: Promise<unknown>[] = [];
  const { tenant, rateLimit } = await authenticateBearer(c.var.publicCtx, token, (p) => pending.push(p)).catch(async (err: unknown) => {
    if (err instanceof ApiError && err.code === "unauthorized") await recordCredentialFailure(c.env, "apiKey", clientIp, now.getTime());
    throw err;
  });
  c.set("ctx", { ...c.var.publicCtx, ...tenant, db: tenantDb(c.var.publicCtx.db, tenant.subscriberId) });
  await next();
  for (const [name, value] of Object.entries(rateLimitHeaders(rateLimit))) c.res.headers.set(name, value);
  await Promise.all(pending);
});

/** The operator API: the `ADMIN_TOKEN` secret, compared in constant time. */
export const requireAdmin = createMiddleware<AppBindings>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  const clientIp = c.req.header("cf-connecting-ip");
  const now = c.var.publicCtx.now.getTime();
  assertCredentialBudget("adminToken", clientIp, now);
  if (!token || !c.env.ADMIN_TOKEN || !timingSafeEqual(token, c.env.ADMIN_TOKEN)) {
    await recordCredentialFailure(c.env, "adminToken", clientIp, now);
    throw unauthorized("Missing or invalid operator token.");
  }
  await next();
});

/** Spread into `createRoute` for routes that need a token: runs `requireAuth` and documents the scheme. */
export const authenticated = { middleware: [requireAuth], security: [{ Bearer: [] }] };

/** Spread into `createRoute` for the operator API. */
export const operatorOnly = { middleware: [requireAdmin], security: [{ OperatorToken: [] }] };
