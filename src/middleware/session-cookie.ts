import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { forbidden, unauthorized } from "../lib/errors";
import type { AppBindings } from "../lib/types";
import { type Authenticated, admitPrincipal } from "../services/authentication";
import { SESSION_COOKIE, findBrowserSession } from "../services/browser-sessions";

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
  deps: { now: Date; waitUntil: (p: Promise<unknown>) => void },
): Promise<Authenticated> {
  const cookie = getCookie(c, SESSION_COOKIE);
  if (!cookie) throw unauthorized("Missing bearer token.");
  const upgrade = c.req.header("upgrade")?.toLowerCase() === "websocket";
  if (upgrade || !SAFE_METHODS.has(c.req.method)) assertSameOrigin(c);
  const session = await findBrowserSession({ db: c.var.db, now: deps.now }, cookie);
  if (!session) throw unauthorized("Session expired or ended. Log in again.");
  return admitPrincipal(
    { db: c.var.db, env: c.env, ...deps },
    { subscriberId: session.subscriberId, userId: session.userId, principal: { kind: "session", userId: session.userId, generation: session.generation } },
  );
}
