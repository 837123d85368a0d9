import { createMiddleware } from "hono/factory";
import { clock } from "../lib/clock";
import { timingSafeEqual } from "../lib/crypto";
import { unauthorized } from "../lib/errors";
import type { AppBindings } from "../lib/types";
import { authenticateBearer } from "../services/authentication";
import { rateLimitHeaders } from "../services/rate-limits";
import { authenticateSessionCookie } from "./session-cookie";

function bearerToken(header: string | undefined): string | null {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match ? match[1] : null;
}

/**
 * Every non-public route: a JWT session, an API key or the dashboard's session cookie, resolved to `c.var.auth`, and one request of the
 * subscriber's plan budget spent. Every response after this point, errors included, carries the
 * `RateLimit-*` headers.
 */
export const requireAuth = createMiddleware<AppBindings>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  // The lastUsedAt write runs beside the handler and is awaited before the response leaves.
  const pending: Promise<unknown>[] = [];
  const deps = { now: clock.now(), waitUntil: (p: Promise<unknown>) => void pending.push(p) };
  const { auth, rateLimit } = token
    ? await authenticateBearer({ db: c.var.db, env: c.env, token, ...deps })
    : await authenticateSessionCookie(c, deps);
  c.set("auth", auth);
  await next();
  for (const [name, value] of Object.entries(rateLimitHeaders(rateLimit))) c.res.headers.set(name, value);
  await Promise.all(pending);
});

/** The operator API: the `ADMIN_TOKEN` secret, compared in constant time. */
export const requireAdmin = createMiddleware<AppBindings>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  if (!token || !c.env.ADMIN_TOKEN || !timingSafeEqual(token, c.env.ADMIN_TOKEN)) {
    throw unauthorized("Missing or invalid operator token.");
  }
  await next();
});
