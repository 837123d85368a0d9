import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../http/types";
import * as auth from "../../services/auth";
import type * as routes from "./routes";

export const register: AppRouteHandler<typeof routes.register> = async (c) => {
  await auth.registerAccount(c.var.publicCtx, c.req.valid("json"));
  return c.json({ message: auth.REGISTERED_MESSAGE }, 200);
};

export const confirmEmail: AppRouteHandler<typeof routes.confirmEmail> = async (c) => {
  await auth.confirmEmail(c.var.publicCtx, c.req.valid("json").token);
  return c.json({ message: "Email confirmed. You can now log in." }, 200);
};

export const login: AppRouteHandler<typeof routes.login> = async (c) => {
  const { token, expiry } = await auth.login(c.var.publicCtx, c.req.valid("json"));
  return c.json({ token, expiry: isoUtc(expiry) }, 200);
};

export const forgotPassword: AppRouteHandler<typeof routes.forgotPassword> = async (c) => {
  await auth.requestPasswordReset(c.var.publicCtx, c.req.valid("json").email);
  return c.json({ message: auth.RESET_REQUESTED_MESSAGE }, 200);
};

export const resetPassword: AppRouteHandler<typeof routes.resetPassword> = async (c) => {
  await auth.resetPassword(c.var.publicCtx, c.req.valid("json"));
  return c.json({ message: "Password has been reset. You can now log in with the new password." }, 200);
};

export const logout: AppRouteHandler<typeof routes.logout> = async (c) => {
  await auth.logout(c.var.ctx);
  return c.json({ message: "Logged out." }, 200);
};

export const resendConfirmation: AppRouteHandler<typeof routes.resendConfirmation> = async (c) => {
  await auth.resendConfirmation(c.var.publicCtx, c.req.valid("json").email);
  return c.json({ message: auth.CONFIRMATION_RESENT_MESSAGE }, 200);
};
