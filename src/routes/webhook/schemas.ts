import { z } from "@hono/zod-openapi";
import { DELIVERY_STATUSES, EVENT_TYPES, SUBSCRIBABLE_EVENT_TYPES } from "../../db/schema";
import { PaginationQuerySchema } from "../../http/pagination";
import { WEBHOOK_SECRET_RULE, webhookSigningKey } from "../../services/webhook-signature";

const eventsField = z
  .array(z.enum(SUBSCRIBABLE_EVENT_TYPES, { error: `events may only contain ${SUBSCRIBABLE_EVENT_TYPES.join(", ")}.` }), {
    error: "events must be an array of event names.",
  })
  .min(1, "events must name at least one event.")
  .openapi({ example: ["backup.success", "backup.failure", "backup.anomaly"] });

const urlField = z
  .string({ error: "url is required." })
  .max(2048, "url must be at most 2048 characters.")
  .openapi({ example: "https://hooks.example.com/datasync", description: "https only; no private, loopback or internal hosts." });

export const CreateWebhookSchema = z
  .object({
    url: urlField,
    events: eventsField,
    secret: z
      .string()
      .refine((s) => webhookSigningKey(s) !== null, WEBHOOK_SECRET_RULE)
      .optional()
      .openapi({ example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", description: "Generated when absent. Returned only in this response." }),
  })
  .openapi("CreateWebhook");

export const UpdateWebhookSchema = z
  .object({
    url: urlField.optional(),
    events: eventsField.optional(),
    isEnabled: z.boolean({ error: "isEnabled must be true or false." }).optional(),
  })
  .refine((b) => b.url !== undefined || b.events !== undefined || b.isEnabled !== undefined, "Give at least one of url, events, isEnabled.")
  .openapi("UpdateWebhook");

export const WebhookSchema = z
  .object({
    webhookId: z.string(),
    url: z.string(),
    events: z.array(z.enum(SUBSCRIBABLE_EVENT_TYPES)),
    isEnabled: z.boolean(),
    createdAt: z.string().openapi({ example: "2026-03-20T10:00:00Z" }),
  })
  .openapi("Webhook");

export const CreatedWebhookSchema = WebhookSchema.extend({
  secret: z.string().openapi({ description: "The signing secret (Standard Webhooks). Shown only once." }),
}).openapi("CreatedWebhook");

export const DeliverySchema = z
  .object({
    deliveryId: z.string(),
    eventId: z.string().openapi({ description: "Also the `webhook-id` header, stable across retries." }),
    event: z.enum(EVENT_TYPES),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    responseStatus: z.number().int().nullable(),
    createdAt: z.string(),
    lastAttemptAt: z.string().nullable(),
  })
  .openapi("WebhookDelivery");

export const WebhookIdParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });

export const DeliveriesQuerySchema = PaginationQuerySchema;
