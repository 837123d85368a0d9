import { setPaginationHeaders } from "../../http/pagination";
import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../http/types";
import * as webhooks from "../../services/webhook";
import type * as routes from "./routes";

const toResponse = (row: webhooks.WebhookRow) => ({
  webhookId: row.id,
  url: row.url,
  events: row.events,
  isEnabled: row.isEnabled,
  createdAt: isoUtc(row.createdAt),
});

export const listWebhooks: AppRouteHandler<typeof routes.listWebhooks> = async (c) => {
  const rows = await webhooks.listWebhooks(c.var.ctx);
  return c.json(rows.map(toResponse), 200);
};

export const createWebhook: AppRouteHandler<typeof routes.createWebhook> = async (c) => {
  const { webhook, secret } = await webhooks.createWebhook(c.var.ctx, c.req.valid("json"));
  return c.json({ ...toResponse(webhook), secret }, 200);
};

export const updateWebhook: AppRouteHandler<typeof routes.updateWebhook> = async (c) => {
  const row = await webhooks.updateWebhook(c.var.ctx, c.req.valid("param").id, c.req.valid("json"));
  return c.json(toResponse(row), 200);
};

export const deleteWebhook: AppRouteHandler<typeof routes.deleteWebhook> = async (c) => {
  await webhooks.deleteWebhook(c.var.ctx, c.req.valid("param").id);
  return c.json({ message: "Webhook deleted." }, 200);
};

export const testWebhook: AppRouteHandler<typeof routes.testWebhook> = async (c) => {
  await webhooks.sendTestEvent(c.var.ctx, c.req.valid("param").id);
  return c.json({ message: "Test event queued." }, 200);
};

export const listDeliveries: AppRouteHandler<typeof routes.listDeliveries> = async (c) => {
  const page = c.req.valid("query");
  const { rows, total } = await webhooks.listDeliveries(c.var.ctx, c.req.valid("param").id, page);
  setPaginationHeaders(c, page, total);
  return c.json(
    rows.map((d) => ({
      deliveryId: d.id,
      eventId: d.eventId,
      event: d.eventType,
      status: d.status,
      attempts: d.attempts,
      responseStatus: d.responseStatus,
      createdAt: isoUtc(d.createdAt),
      lastAttemptAt: isoUtc(d.lastAttemptAt),
    })),
    200,
  );
};
