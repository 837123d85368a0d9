import { createRoute } from "@hono/zod-openapi";
import { MessageSchema, errorResponses, jsonBody, jsonResponse } from "../../http/router";
import { LoginBodySchema } from "../auth/schemas";
import { SessionSchema } from "./schemas";

const tags = ["Auth"];

export const startSession = createRoute({
  operationId: "startDashboardSession",
  security: [],
  method: "post",
  path: "/api/auth/session",
  tags,
  summary: "Log in the dashboard: sets an HttpOnly, SameSite=Strict session cookie (12 hours)",
  description:
    "Same body, checks and lock-out as `POST /api/auth/login`. Requests authenticated by the cookie must send an `Origin` equal to this service's origin on every method but GET/HEAD (403 otherwise).",
  request: { body: jsonBody(LoginBodySchema) },
  responses: {
    200: { ...jsonResponse(SessionSchema, "Logged in; `Set-Cookie` carries the session"), headers: { "Set-Cookie": { schema: { type: "string" } } } },
    ...errorResponses(400, 401, 403, 429),
  },
});

export const endSession = createRoute({
  operationId: "endDashboardSession",
  security: [],
  method: "delete",
  path: "/api/auth/session",
  tags,
  summary: "Log out the dashboard: ends the cookie's session on the server and clears the cookie",
  responses: { 200: jsonResponse(MessageSchema, "Logged out"), ...errorResponses(403) },
});
