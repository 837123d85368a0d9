import { createRoute, z } from "@hono/zod-openapi";
import { MessageSchema, errorResponses, jsonBody, jsonResponse } from "../../http/router";
import { authenticated } from "../../middleware/auth";
import { CreateCredentialSchema, CredentialIdParams, CredentialSchema } from "./schemas";

const tags = ["Credentials"];

export const listCredentials = createRoute({
  operationId: "listCredentials",
  method: "get",
  path: "/api/credential",
  tags,
  summary: "List credential references (never any secret field)",
  ...authenticated,
  responses: { 200: jsonResponse(z.array(CredentialSchema), "Credential list returned"), ...errorResponses(401) },
});

export const createCredential = createRoute({
  operationId: "createCredential",
  method: "post",
  path: "/api/credential",
  tags,
  summary: "Create an encrypted credential reference; the agent is sent it through its command queue",
  ...authenticated,
  request: { body: jsonBody(CreateCredentialSchema) },
  responses: { 200: jsonResponse(CredentialSchema, "Credential created"), ...errorResponses(400, 401) },
});

export const deleteCredential = createRoute({
  operationId: "deleteCredential",
  method: "delete",
  path: "/api/credential/{id}",
  tags,
  summary: "Delete a credential (refused while a destination uses it)",
  ...authenticated,
  request: { params: CredentialIdParams },
  responses: { 200: jsonResponse(MessageSchema, "Credential deleted"), ...errorResponses(400, 401, 404) },
});
