import { createMiddleware } from "hono/factory";
import { clock } from "../lib/clock";
import type { AppBindings } from "../http/types";
import { type PublicScope, rateLimitHeaders, takePublicRequest } from "../services/rate-limit";

/**
 * A public endpoint's budget per client IP (`CF-Connecting-IP`), e.g.
 * `app.use("/api/auth/register", limitPerClientIp("register"))`. Cloudflare sets that header on every
 * request it forwards and a client cannot forge it there; a request without it did not come through
 * Cloudflare's edge (a test calling the Worker directly) and has no IP to count against.
 */
export function limitPerClientIp(scope: PublicScope) {
  return createMiddleware<AppBindings>(async (c, next) => {
    const clientIp = c.req.header("cf-connecting-ip");
    if (!clientIp) return next();
    const decision = await takePublicRequest(c.env, scope, clientIp, clock.nowMs());
    await next();
    for (const [name, value] of Object.entries(rateLimitHeaders(decision))) c.res.headers.set(name, value);
  });
}
