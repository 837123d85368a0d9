import { createRoute, z } from "@hono/zod-openapi";
import { PAGINATION_HEADERS } from "../../http/pagination";
import { errorResponses, jsonBody, jsonResponse } from "../../http/router";
import { operatorOnly } from "../../middleware/auth";
import { ChangePlanBodySchema, EncryptionKeyStatusSchema, OutboxEmailSchema, OutboxQuerySchema, SubscriberIdParams, SubscriberPlanSchema } from "./schemas";

const tags = ["Operator"];

export const changeSubscriberPlan = createRoute({
  operationId: "changeSubscriberPlan",
  method: "put",
  path: "/api/admin/subscriber/{id}/plan",
  tags,
  summary: "Change a subscriber's plan (takes effect on its next request)",
  ...operatorOnly,
  request: { params: SubscriberIdParams, body: jsonBody(ChangePlanBodySchema) },
  responses: { 200: jsonResponse(SubscriberPlanSchema, "Plan changed"), ...errorResponses(400, 401, 404) },
});

export const listOutbox = createRoute({
  operationId: "listOutbox",
  method: "get",
  path: "/api/admin/outbox",
  tags,
  summary: "Emails the platform sent, newest first (follow confirmation and reset links locally)",
  ...operatorOnly,
  request: { query: OutboxQuerySchema },
  responses: {
    200: { ...jsonResponse(z.array(OutboxEmailSchema), "Outbox page returned"), headers: PAGINATION_HEADERS },
    ...errorResponses(400, 401),
  },
});

export const getEncryptionKeyStatus = createRoute({
  operationId: "getEncryptionKeyStatus",
  method: "get",
  path: "/api/admin/encryption-key",
  tags,
  summary: "How many stored secrets still need ENCRYPTION_KEY_PREVIOUS after a key rotation (docs/deploy.md)",
  description:
    "Counts the sealed values in D1 not sealed under the current ENCRYPTION_KEY. The daily re-seal brings it to 0 while " +
    "ENCRYPTION_KEY_PREVIOUS is set; commands queued for offline agents are re-sealed by the same run (see its `secret.reseal` log line).",
  ...operatorOnly,
  responses: { 200: jsonResponse(EncryptionKeyStatusSchema, "Key status returned"), ...errorResponses(401) },
});
