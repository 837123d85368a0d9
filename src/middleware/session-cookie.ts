import type { Context } from "hono";
import { forbidden, unauthorized } from "../lib/errors";
import type { AppBindings } from "../http/types";
import { type Authenticated, admitPrincipal } from "../services/bearer-auth";
import { findBrowserSession } from "../services/browser-session";

/** Methods a cookie-authenticated request may send without a matching Origin (they change nothing). */
const SAFE_METHODS = new Set(["GET", "HEAD"]);

/** Refuses (403) a request whose `Origin` is not this service's own origin. */
export function assertSameOrigin(c: Context<AppBindings>): void {
  if (c.req.header("origin") !== new URL(c.req.url).origin) {
    throw forbidden("Cross-origin request refused: the Origin header must be this service's origin.");
  }
}

/**
 * A request carrying the dashboard's session cookie instead of a bearer token. Cross-site request
 * forgery is refused twice over: the cookie is SameSite=Strict, and every method that can change
 * something (and every WebSocket upgrade, which browsers send cross-origin) must carry an `Origin`
 * equal to this service's own origin.
 */
export async function authenticateSessionCookie(
  c: Context<AppBindings>,
  cookie: string,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<Authenticated> {
  const upgrade = c.req.header("upgrade")?.toLowerCase() === "websocket";
  if (upgrade || !SAFE_METHODS.has(c.req.method)) assertSameOrigin(c);
  const session = await findBrowserSession(c.var.publicCtx, cookie);
  if (!session) throw unauthorized("Session expired or ended. Log in again.");
  // The browser session's id is the session id a logout (POST /api/auth/logout) revokes, as a JWT's jti is.
  const { subscriberId, userId, generation, sessionId, expiresAt } = session;
  return admitPrincipal(
    c.var.publicCtx,
    {
      subscriberId,
      presented: { kind: "session", userId, generation, sessionId },
      principal: { kind: "session", userId, session: { sessionId, expiresAt } },
    },
    waitUntil,
  );
}
