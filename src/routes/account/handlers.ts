import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../http/types";
import { clearSessionCookie, setSessionCookie } from "../../middleware/session-cookie";
import * as account from "../../services/account";
import * as twoFactor from "../../services/two-factor";
import type * as routes from "./routes";

export const getAccount: AppRouteHandler<typeof routes.getAccount> = async (c) => {
  return c.json(await account.getAccount(c.var.ctx), 200);
};

export const updateAccount: AppRouteHandler<typeof routes.updateAccount> = async (c) => {
  return c.json(await account.updateAccount(c.var.ctx, c.req.valid("json")), 200);
};

export const changePassword: AppRouteHandler<typeof routes.changePassword> = async (c) => {
  const { token, expiry, browserSession } = await account.changePassword(c.var.ctx, c.req.valid("json"));
  if (browserSession) setSessionCookie(c, browserSession);
  return c.json({ message: "Password changed. Other sessions have been logged out.", token, expiry: isoUtc(expiry) }, 200);
};

export const deleteAccount: AppRouteHandler<typeof routes.deleteAccount> = async (c) => {
  await account.deleteAccount(c.var.ctx, c.req.valid("json"));
  // The cookie's session went with the account: the browser may forget it too.
  if (c.var.ctx.principal.kind === "session" && c.var.ctx.principal.session.via === "cookie") clearSessionCookie(c);
  return c.json({ message: "Account deleted." }, 200);
};

export const setUpTwoFactor: AppRouteHandler<typeof routes.setUpTwoFactor> = async (c) => {
  return c.json(await twoFactor.setUpTwoFactor(c.var.ctx), 200);
};

export const enableTwoFactor: AppRouteHandler<typeof routes.enableTwoFactor> = async (c) => {
  return c.json({ recoveryCodes: await twoFactor.enableTwoFactor(c.var.ctx, c.req.valid("json").code) }, 200);
};

export const disableTwoFactor: AppRouteHandler<typeof routes.disableTwoFactor> = async (c) => {
  await twoFactor.disableTwoFactor(c.var.ctx, c.req.valid("json"));
  return c.json({ message: "Two-factor authentication is off." }, 200);
};
