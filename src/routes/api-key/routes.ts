import { createRoute, z } from "@hono/zod-openapi";
import { MessageSchema, errorResponses, jsonBody, jsonResponse } from "../../http/router";
import { authenticated } from "../../middleware/auth";
import { ApiKeyIdParams, ApiKeySchema, CreateApiKeyBodySchema, CreatedApiKeySchema } from "./schemas";

const tags = ["API keys"];

export const listApiKeys = createRoute({
  operationId: "listApiKeys",
  method: "get",
  path: "/api/apikey",
  tags,
  summary: "List the subscriber's API keys (never the keys themselves)",
  ...authenticated,
  responses: { 200: jsonResponse(z.array(ApiKeySchema), "API key list returned"), ...errorResponses(401) },
});

export const createApiKey = createRoute({
  operationId: "createApiKey",
  method: "post",
  path: "/api/apikey",
  tags,
  summary: "Create an API key (Professional+, from a login session only); the key is shown once",
  ...authenticated,
  request: { body: jsonBody(CreateApiKeyBodySchema) },
  responses: { 200: jsonResponse(CreatedApiKeySchema, "API key created"), ...errorResponses(400, 401, 403) },
});

export const revokeApiKey = createRoute({
  operationId: "revokeApiKey",
  method: "delete",
  path: "/api/apikey/{id}",
  tags,
  summary: "Revoke an API key; it stops working from the next request",
  ...authenticated,
  request: { params: ApiKeyIdParams },
  responses: { 200: jsonResponse(MessageSchema, "API key revoked"), ...errorResponses(401, 404) },
});
