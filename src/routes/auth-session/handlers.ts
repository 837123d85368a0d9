import { getCookie } from "hono/cookie";
import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../http/types";
import { assertSameOrigin, clearSessionCookie, setSessionCookie } from "../../middleware/session-cookie";
import { verifyCredentials } from "../../services/auth";
import { SESSION_COOKIE, endBrowserSession, startBrowserSession } from "../../services/browser-session";
import type * as routes from "./routes";

export const startSession: AppRouteHandler<typeof routes.startSession> = async (c) => {
  // Login CSRF: a cross-site form must not sign the browser into someone else's account.
  if (c.req.header("origin") !== undefined) assertSameOrigin(c);
  // The same checks and per-email attempt budget as POST /api/auth/login.
  const owner = await verifyCredentials(c.var.publicCtx, c.req.valid("json"));
  const session = await startBrowserSession(c.var.publicCtx, owner);
  setSessionCookie(c, session);
  return c.json({ expiry: isoUtc(session.expiresAt) }, 200);
};

export const endSession: AppRouteHandler<typeof routes.endSession> = async (c) => {
  const token = getCookie(c, SESSION_COOKIE);
  if (token) {
    assertSameOrigin(c);
    await endBrowserSession(c.var.publicCtx, token);
  }
  clearSessionCookie(c);
  return c.json({ message: "Logged out." }, 200);
};
