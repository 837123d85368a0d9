import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { createDb } from "../db/client";
import { forbidden, unauthorized } from "../lib/errors";
import type { AppBindings } from "../http/types";
import type { Caller } from "../services/bearer-auth";
import { SESSION_COOKIE, findBrowserSession } from "../services/browser-session";

/** Methods a cookie-authenticated request may send without a matching Origin (they change nothing). */
const SAFE_METHODS = new Set(["GET", "HEAD"]);

/** Secure whenever the service is reached over https; local development on http keeps working. */
const cookieOptions = (c: Context<AppBindings>) =>
  ({ path: "/", httpOnly: true, sameSite: "Strict", secure: new URL(c.req.url).protocol === "https:" }) as const;

/** Hands the browser a session's cookie value (HttpOnly: the dashboard's scripts never see it). */
export function setSessionCookie(c: Context<AppBindings>, session: { token: string; expiresAt: Date }): void {
  setCookie(c, SESSION_COOKIE, session.token, { ...cookieOptions(c), expires: session.expiresAt });
}

export function clearSessionCookie(c: Context<AppBindings>): void {
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c));
}

/** Refuses (403) a request whose `Origin` is not this service's own origin. */
export function assertSameOrigin(c: Context<AppBindings>): void {
  if (c.req.header("origin") !== new URL(c.req.url).origin) {
    throw forbidden("Cross-origin request refused: the Origin header must be this service's origin.");
  }
}

/**
 * Who a request carrying the dashboard's session cookie instead of a bearer token says is calling; it is
 * then admitted by the same step as a bearer token (`admitCaller`). Cross-site request forgery is refused
 * twice over: the cookie is SameSite=Strict, and every method that can change something (and every
 * WebSocket upgrade, which browsers send cross-origin) must carry an `Origin` equal to this service's
 * own origin.
 */
export async function identifySessionCookie(c: Context<AppBindings>, cookie: string): Promise<Caller> {
  const upgrade = c.req.header("upgrade")?.toLowerCase() === "websocket";
  if (upgrade || !SAFE_METHODS.has(c.req.method)) assertSameOrigin(c);
  // A session started a moment ago may not have reached the request's replica yet: a miss is confirmed on the primary.
  const session =
    (await findBrowserSession(c.var.publicCtx, cookie)) ?? (await findBrowserSession({ ...c.var.publicCtx, db: createDb(c.env.DB) }, cookie));
  if (!session) throw unauthorized("Session expired or ended. Log in again.");
  // The browser session's id is the session id a logout (POST /api/auth/logout) revokes, as a JWT's jti is.
  const { subscriberId, userId, generation, sessionId, expiresAt } = session;
  return {
    subscriberId,
    presented: { kind: "session", userId, generation, sessionId },
    principal: { kind: "session", userId, session: { sessionId, expiresAt, via: "cookie" } },
  };
}
