import { createRoute, z } from "@hono/zod-openapi";
import { PAGINATION_HEADERS } from "../../http/pagination";
import { MessageSchema, errorResponses, jsonBody, jsonResponse } from "../../http/router";
import { authenticated } from "../../middleware/auth";
import {
  CreateWebhookSchema,
  CreatedWebhookSchema,
  DeliveriesQuerySchema,
  DeliverySchema,
  UpdateWebhookSchema,
  WebhookIdParams,
  WebhookSchema,
} from "./schemas";

const tags = ["Webhooks"];

export const listWebhooks = createRoute({
  operationId: "listWebhooks",
  method: "get",
  path: "/api/webhook",
  tags,
  summary: "List webhook endpoints (Professional+; secrets are never returned)",
  ...authenticated,
  responses: { 200: jsonResponse(z.array(WebhookSchema), "Webhook list returned"), ...errorResponses(401, 403) },
});

export const createWebhook = createRoute({
  operationId: "createWebhook",
  method: "post",
  path: "/api/webhook",
  tags,
  summary: "Register a webhook endpoint; the response carries its signing secret, once",
  ...authenticated,
  request: { body: jsonBody(CreateWebhookSchema) },
  responses: { 200: jsonResponse(CreatedWebhookSchema, "Webhook created"), ...errorResponses(400, 401, 403) },
});

export const updateWebhook = createRoute({
  operationId: "updateWebhook",
  method: "put",
  path: "/api/webhook/{id}",
  tags,
  summary: "Update a webhook's url, events or isEnabled",
  ...authenticated,
  request: { params: WebhookIdParams, body: jsonBody(UpdateWebhookSchema) },
  responses: { 200: jsonResponse(WebhookSchema, "Webhook updated"), ...errorResponses(400, 401, 403, 404) },
});

export const deleteWebhook = createRoute({
  operationId: "deleteWebhook",
  method: "delete",
  path: "/api/webhook/{id}",
  tags,
  summary: "Delete a webhook; no further events are delivered to it",
  ...authenticated,
  request: { params: WebhookIdParams },
  responses: { 200: jsonResponse(MessageSchema, "Webhook deleted"), ...errorResponses(401, 403, 404) },
});

export const testWebhook = createRoute({
  operationId: "testWebhook",
  method: "post",
  path: "/api/webhook/{id}/test",
  tags,
  summary: "Queue a webhook.test event for this enabled webhook only (one attempt, 10 a minute per webhook)",
  ...authenticated,
  request: { params: WebhookIdParams },
  responses: { 200: jsonResponse(MessageSchema, "Test event queued"), ...errorResponses(401, 403, 404, 409, 429) },
});

export const listDeliveries = createRoute({
  operationId: "listDeliveries",
  method: "get",
  path: "/api/webhook/{id}/deliveries",
  tags,
  summary: "A webhook's deliveries with their attempts, newest first",
  ...authenticated,
  request: { params: WebhookIdParams, query: DeliveriesQuerySchema },
  responses: {
    200: { ...jsonResponse(z.array(DeliverySchema), "Deliveries returned"), headers: PAGINATION_HEADERS },
    ...errorResponses(400, 401, 403, 404),
  },
});
