import { createRoute } from "@hono/zod-openapi";
import { errorResponses, jsonResponse } from "../../http/router";
import { authenticated } from "../../middleware/auth";
import { AccountSchema } from "./schemas";

export const getAccount = createRoute({
  operationId: "getAccount",
  method: "get",
  path: "/api/account",
  tags: ["Account"],
  summary: "The caller's user, subscriber, plan, plan limits and current usage",
  ...authenticated,
  responses: { 200: jsonResponse(AccountSchema, "Account returned"), ...errorResponses(401) },
});
