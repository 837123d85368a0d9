import { createRoute } from "@hono/zod-openapi";
import { MessageSchema, errorResponses, jsonBody, jsonResponse } from "../../http/router";
import {
  ConfirmEmailBodySchema,
  ForgotPasswordBodySchema,
  LoginBodySchema,
  LoginResponseSchema,
  RegisterBodySchema,
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
  summary: "Authenticate with email and password to receive a JWT access token (1 hour)",
  request: { body: jsonBody(LoginBodySchema) },
  responses: {
    200: jsonResponse(LoginResponseSchema, "Login successful, token returned"),
    ...errorResponses(400, 401),
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
