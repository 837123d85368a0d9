import { createMiddleware } from "hono/factory";
import { clock } from "../lib/clock";
import { timingSafeEqual } from "../lib/crypto";
import { ApiError, unauthorized } from "../lib/errors";
import type { AppBindings } from "../lib/types";
import { API_KEY_PREFIX, authenticateBearer } from "../services/authentication";
import { assertCredentialBudget, rateLimitHeaders, recordCredentialFailure } from "../services/rate-limits";

function bearerToken(header: string | undefined): string | null {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match ? match[1] : null;
}

/**
 * Every non-public route: a JWT session or an API key, resolved to `c.var.auth`, and one request of the
 * subscriber's plan budget spent. Every response after this point, errors included, carries the
 * `RateLimit-*` headers.
 */
export const requireAuth = createMiddleware<AppBindings>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) throw unauthorized("Missing bearer token.");
  // An API key costs a D1 look-up: a client IP gets a budget of failed ones.
  const clientIp = token.startsWith(API_KEY_PREFIX) ? c.req.header("cf-connecting-ip") : undefined;
  const now = clock.now();
  assertCredentialBudget("apiKey", clientIp, now.getTime());
  // The lastUsedAt write runs beside the handler and is awaited before the response leaves.
  const pending: Promise<unknown>[] = [];
  const { auth, rateLimit } = await authenticateBearer({ db: c.var.db, env: c.env, token, now, waitUntil: (p) => pending.push(p) }).catch(
    async (err: unknown) => {
      if (err instanceof ApiError && err.code === "unauthorized") await recordCredentialFailure(c.env, "apiKey", clientIp, now.getTime());
      throw err;
    },
  );
  c.set("auth", auth);
  await next();
  for (const [name, value] of Object.entries(rateLimitHeaders(rateLimit))) c.res.headers.set(name, value);
  await Promise.all(pending);
});

/** The operator API: the `ADMIN_TOKEN` secret, compared in constant time. */
export const requireAdmin = createMiddleware<AppBindings>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  const clientIp = c.req.header("cf-connecting-ip");
  const now = clock.nowMs();
  assertCredentialBudget("adminToken", clientIp, now);
  if (!token || !c.env.ADMIN_TOKEN || !timingSafeEqual(token, c.env.ADMIN_TOKEN)) {
    await recordCredentialFailure(c.env, "adminToken", clientIp, now);
    throw unauthorized("Missing or invalid operator token.");
  }
  await next();
});
