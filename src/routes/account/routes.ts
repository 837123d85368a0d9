import { createRoute } from "@hono/zod-openapi";
import { MessageSchema, errorResponses, jsonBody, jsonResponse } from "../../http/router";
import { authenticated } from "../../middleware/auth";
import {
  AccountSchema,
  ChangePasswordBodySchema,
  ChangePasswordResponseSchema,
  DeleteAccountBodySchema,
  DisableTwoFactorBodySchema,
  EnableTwoFactorBodySchema,
  RecoveryCodesSchema,
  TwoFactorSetupSchema,
  UpdateAccountBodySchema,
} from "./schemas";

const tags = ["Account"];
const SESSION_ONLY = "Needs a login session: an API key is answered 403.";

export const getAccount = createRoute({
  operationId: "getAccount",
  method: "get",
  path: "/api/account",
  tags,
  summary: "The caller's user, subscriber, plan, plan limits and current usage",
  ...authenticated,
  responses: { 200: jsonResponse(AccountSchema, "Account returned"), ...errorResponses(401) },
});

export const updateAccount = createRoute({
  operationId: "updateAccount",
  method: "put",
  path: "/api/account",
  tags,
  summary: "Change the caller's forename and/or the subscriber's organisation name",
  description: "An API key may change the organisation name, and the forename of the user who created it (403 when that user is gone).",
  ...authenticated,
  request: { body: jsonBody(UpdateAccountBodySchema) },
  responses: { 200: jsonResponse(AccountSchema, "Account updated and returned"), ...errorResponses(400, 401, 403) },
});

export const changePassword = createRoute({
  operationId: "changePassword",
  method: "post",
  path: "/api/account/password",
  tags,
  summary: "Change the password with the current one; every other session ends",
  description:
    "The user's other sessions (access tokens issued before) stop working at once, and so does the token used for this request: " +
    "the response carries a fresh access token for the calling session. Called with the dashboard's session cookie, the response " +
    "also sets a new cookie (`Set-Cookie`) ending when the old one would have, so that browser stays logged in. " +
    "A wrong `currentPassword` is 403 `wrong_password` and " +
    `counts toward the email's login lock-out (then 429). ${SESSION_ONLY}`,
  ...authenticated,
  request: { body: jsonBody(ChangePasswordBodySchema) },
  responses: { 200: jsonResponse(ChangePasswordResponseSchema, "Password changed"), ...errorResponses(400, 401, 403, 409, 429) },
});

export const deleteAccount = createRoute({
  operationId: "deleteAccount",
  method: "delete",
  path: "/api/account",
  tags,
  summary: "Delete the account: the subscriber, its users and all its data",
  description:
    "Needs `password`, and `otp` (a current code or a recovery code) when 2FA is on: 403 `wrong_password` / `invalid_otp` otherwise, " +
    "counted toward the email's login lock-out. Deletes the subscriber's rows (public known issues published from its bug reports " +
    "stay, without the reports), revokes its agents (each is sent `agent.revoked` and disconnected), API keys, webhooks and " +
    `sessions, and emails each of its users. Called with the dashboard's session cookie, the response clears it. ${SESSION_ONLY}`,
  ...authenticated,
  request: { body: jsonBody(DeleteAccountBodySchema) },
  responses: { 200: jsonResponse(MessageSchema, "Account deleted"), ...errorResponses(400, 401, 403, 429) },
});

export const setUpTwoFactor = createRoute({
  operationId: "setUpTwoFactor",
  method: "post",
  path: "/api/account/2fa/setup",
  tags,
  summary: "Start TOTP two-factor setup (RFC 6238, SHA-1, 6 digits, 30 s): a new secret, pending until enabled",
  description: `Calling it again before enabling replaces the pending secret. 409 when 2FA is already on. ${SESSION_ONLY}`,
  ...authenticated,
  responses: { 200: jsonResponse(TwoFactorSetupSchema, "Secret created"), ...errorResponses(401, 403, 409) },
});

export const enableTwoFactor = createRoute({
  operationId: "enableTwoFactor",
  method: "post",
  path: "/api/account/2fa/enable",
  tags,
  summary: "Turn 2FA on with a code from the pending secret; returns 10 single-use recovery codes, shown once",
  description: `400 for a code that does not match the pending secret; 409 without a pending secret or when 2FA is already on. ${SESSION_ONLY}`,
  ...authenticated,
  request: { body: jsonBody(EnableTwoFactorBodySchema) },
  responses: { 200: jsonResponse(RecoveryCodesSchema, "2FA on"), ...errorResponses(400, 401, 403, 409) },
});

export const disableTwoFactor = createRoute({
  operationId: "disableTwoFactor",
  method: "delete",
  path: "/api/account/2fa",
  tags,
  summary: "Turn 2FA off with a current code or an unused recovery code",
  description: `A wrong or used code is 403 \`invalid_otp\`, counted toward the email's login lock-out (then 429); 409 when 2FA is off. ${SESSION_ONLY}`,
  ...authenticated,
  request: { body: jsonBody(DisableTwoFactorBodySchema) },
  responses: { 200: jsonResponse(MessageSchema, "2FA off"), ...errorResponses(400, 401, 403, 409, 429) },
});
