import { createRoute } from "@hono/zod-openapi";
import { MessageSchema, errorResponses, jsonBody, jsonResponse } from "../../http/router";
import { authenticated } from "../../middleware/auth";
import {
  ConfirmEmailBodySchema,
  ForgotPasswordBodySchema,
  LoginBodySchema,
  LoginResponseSchema,
  RegisterBodySchema,
  ResendConfirmationBodySchema,
  ResetPasswordBodySchema,
} from "./schemas";

const tags = ["Auth"];

export const register = createRoute({
  operationId: "register",
  security: [],
  method: "post",
  path: "/api/auth/register",
  tags,
  summary: "Register a new user account and subscriber (Free plan); a confirmation email is sent",
  request: { body: jsonBody(RegisterBodySchema) },
  responses: {
    200: jsonResponse(MessageSchema, "Account created, confirmation email sent"),
    ...errorResponses(400),
  },
});

export const confirmEmail = createRoute({
  operationId: "confirmEmail",
  security: [],
  method: "post",
  path: "/api/auth/confirm-email",
  tags,
  summary: "Confirm an email address with the token from the confirmation email (24 hours, single use)",
  request: { body: jsonBody(ConfirmEmailBodySchema) },
  responses: {
    200: jsonResponse(MessageSchema, "Email confirmed"),
    ...errorResponses(400),
  },
});

export const login = createRoute({
  operationId: "login",
  security: [],
  method: "post",
  path: "/api/auth/login",
  tags,
  summary: "Authenticate with email and password (and `otp` when 2FA is on) to receive a JWT access token (1 hour)",
  description:
    "With two-factor authentication on, a right password without `otp`, or with a wrong or already used one, is answered 401 with " +
    "`code: \"otp_required\"`. A TOTP code is accepted once (a replay in the same 30 s window is refused); a recovery code once ever. " +
    "Every attempt, code attempts included, counts toward the email's lock-out (10 failures in 15 minutes, then 429).",
  request: { body: jsonBody(LoginBodySchema) },
  responses: {
    200: jsonResponse(LoginResponseSchema, "Login successful, token returned"),
    ...errorResponses(400, 401),
  },
});

export const logout = createRoute({
  operationId: "logout",
  method: "post",
  path: "/api/auth/logout",
  tags,
  summary: "End the session of the access token used, server-side; the user's other sessions go on",
  description: "The token is refused (401) from the next request on. Needs a login session: an API key is answered 403 (revoke keys with DELETE /api/apikey/{id}).",
  ...authenticated,
  responses: { 200: jsonResponse(MessageSchema, "Logged out"), ...errorResponses(401, 403) },
});

export const resendConfirmation = createRoute({
  operationId: "resendConfirmation",
  security: [],
  method: "post",
  path: "/api/auth/resend-confirmation",
  tags,
  summary: "Email a new confirmation link (24 hours) if the address is registered and not yet confirmed",
  description: "Always the same 200 for a well-formed request, whatever the address. At most 3 emails an hour per address (then 429), and 30 requests a minute per client IP.",
  request: { body: jsonBody(ResendConfirmationBodySchema) },
  responses: {
    200: jsonResponse(MessageSchema, "Always returned for a well-formed request (prevents email enumeration)"),
    ...errorResponses(400, 429),
  },
});

export const forgotPassword = createRoute({
  operationId: "forgotPassword",
  security: [],
  method: "post",
  path: "/api/auth/forgot-password",
  tags,
  summary: "Send a password reset link (1 hour, single use) to the address if it has an account",
  request: { body: jsonBody(ForgotPasswordBodySchema) },
  responses: {
    200: jsonResponse(MessageSchema, "Always returned for a well-formed request (prevents email enumeration)"),
    ...errorResponses(400, 429),
  },
});

export const resetPassword = createRoute({
  operationId: "resetPassword",
  security: [],
  method: "post",
  path: "/api/auth/reset-password",
  tags,
  summary: "Set a new password with the token from the reset email; earlier sessions stop working",
  request: { body: jsonBody(ResetPasswordBodySchema) },
  responses: {
    200: jsonResponse(MessageSchema, "Password changed"),
    ...errorResponses(400),
  },
});
