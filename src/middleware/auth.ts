import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { tenantDb } from "../db/tenant";
import { timingSafeEqual } from "../lib/crypto";
import { ApiError, unauthorized } from "../lib/errors";
import type { AppBindings } from "../http/types";
import { API_KEY_PREFIX, authenticateBearer, bearerToken } from "../services/bearer-auth";
import { SESSION_COOKIE } from "../services/browser-session";
import { assertCredentialBudget, rateLimitHeaders, recordCredentialFailure } from "../services/rate-limit";
import { authenticateSessionCookie } from "./session-cookie";

/**
 * Every non-public route: a JWT session, an API key or the dashboard's session cookie, resolved to the
 * request's service context (`c.var.ctx`), and one request of the subscriber's plan budget spent. Every
 * response after this point, errors included, carries the `RateLimit-*` headers.
 */
export const requireAuth = createMiddleware<AppBindings>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  const cookie = token ? undefined : getCookie(c, SESSION_COOKIE);
  if (!token && !cookie) throw unauthorized("Missing bearer token.");
  // An API key or a session cookie costs a D1 look-up: a client IP gets a budget of failed ones.
  const scope = token ? "apiKey" : "sessionCookie";
  const clientIp = !token || token.startsWith(API_KEY_PREFIX) ? c.req.header("cf-connecting-ip") : undefined;
  const now = c.var.publicCtx.now;
  assertCredentialBudget(scope, clientIp, now.getTime());
  // The lastUsedAt write runs beside the handler and is awaited before the response leaves.
  const pending: Promise<unknown>[] = [];
  const waitUntil = (p: Promise<unknown>) => void pending.push(p);
  const authenticating = token ? authenticateBearer(c.var.publicCtx, token, waitUntil) : authenticateSessionCookie(c, cookie!, waitUntil);
  const { tenant, rateLimit } = await authenticating.catch(async (err: unknown) => {
    if (err instanceof ApiError && err.code === "unauthorized") await recordCredentialFailure(c.env, scope, clientIp, now.getTime());
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
