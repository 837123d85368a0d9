import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { isoUtc } from "../../lib/time";
import type { AppBindings, AppRouteHandler } from "../../http/types";
import { assertSameOrigin } from "../../middleware/session-cookie";
import { verifyCredentials } from "../../services/auth";
import { SESSION_COOKIE, endBrowserSession, startBrowserSession } from "../../services/browser-session";
import type * as routes from "./routes";

/** Secure whenever the service is reached over https; local development on http keeps working. */
const cookieOptions = (c: Context<AppBindings>) =>
  ({ path: "/", httpOnly: true, sameSite: "Strict", secure: new URL(c.req.url).protocol === "https:" }) as const;

export const startSession: AppRouteHandler<typeof routes.startSession> = async (c) => {
  // Login CSRF: a cross-site form must not sign the browser into someone else's account.
  if (c.req.header("origin") !== undefined) assertSameOrigin(c);
  // The same checks and per-email attempt budget as POST /api/auth/login.
  const owner = await verifyCredentials(c.var.publicCtx, c.req.valid("json"));
  const { token, expiresAt } = await startBrowserSession(c.var.publicCtx, owner);
  setCookie(c, SESSION_COOKIE, token, { ...cookieOptions(c), expires: expiresAt });
  return c.json({ expiry: isoUtc(expiresAt) }, 200);
};

export const endSession: AppRouteHandler<typeof routes.endSession> = async (c) => {
  const token = getCookie(c, SESSION_COOKIE);
  if (token) {
    assertSameOrigin(c);
    await endBrowserSession(c.var.publicCtx, token);
  }
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c));
  return c.json({ message: "Logged out." }, 200);
};
