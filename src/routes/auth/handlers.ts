import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../lib/types";
import * as users from "../../services/users";
import type * as routes from "./routes";

export const register: AppRouteHandler<typeof routes.register> = async (c) => {
  await users.registerAccount(c.var.publicCtx, c.req.valid("json"));
  return c.json({ message: users.REGISTERED_MESSAGE }, 200);
};

export const confirmEmail: AppRouteHandler<typeof routes.confirmEmail> = async (c) => {
  await users.confirmEmail(c.var.publicCtx, c.req.valid("json").token);
  return c.json({ message: "Email confirmed. You can now log in." }, 200);
};

export const login: AppRouteHandler<typeof routes.login> = async (c) => {
  const { token, expiry } = await users.login(c.var.publicCtx, c.req.valid("json"));
  return c.json({ token, expiry: isoUtc(expiry) }, 200);
};

export const forgotPassword: AppRouteHandler<typeof routes.forgotPassword> = async (c) => {
  await users.requestPasswordReset(c.var.publicCtx, c.req.valid("json").email);
  return c.json({ message: users.RESET_REQUESTED_MESSAGE }, 200);
};

export const resetPassword: AppRouteHandler<typeof routes.resetPassword> = async (c) => {
  await users.resetPassword(c.var.publicCtx, c.req.valid("json"));
  return c.json({ message: "Password has been reset. You can now log in with the new password." }, 200);
};
