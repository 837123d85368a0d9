import { createMiddleware } from "hono/factory";
import { clock } from "../lib/clock";
import type { AppBindings } from "../http/types";
import { type PublicScope, rateLimitHeaders, takePublicRequest } from "../services/rate-limit";

/** The public endpoints with a budget per client IP, and whose budget each spends. Read by app.ts and the OpenAPI document. */
export const PUBLIC_ENDPOINT_LIMITS = {
  "/api/auth/register": "register",
  "/api/auth/confirm-email": "confirmEmail",
  "/api/auth/forgot-password": "forgotPassword",
  "/api/auth/resend-confirmation": "resendConfirmation",
  "/api/auth/reset-password": "resetPassword",
  "/api/auth/login": "login",
  // The dashboard's cookie login (and its logout, on the same path) shares the login budget.
  "/api/auth/session": "login",
  "/api/agent/register": "agentRegister",
} as const satisfies Record<string, PublicScope>;

/** Mounts each public endpoint's per-IP budget on the app. */
export function limitPublicEndpoints(app: { use(path: string, handler: ReturnType<typeof limitPerClientIp>): unknown }) {
  for (const [path, scope] of Object.entries(PUBLIC_ENDPOINT_LIMITS)) app.use(path, limitPerClientIp(scope));
}

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
