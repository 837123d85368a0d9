import { createRoute, z } from "@hono/zod-openapi";
import { NOTIFICATION_KINDS, NOTIFICATION_KIND_LABELS } from "../../domain/notification";
import { createRouter, errorResponses, jsonBody, jsonResponse } from "../../http/router";
import type { AppRouteHandler } from "../../http/types";
import { forbidden } from "../../lib/errors";
import { authenticated } from "../../middleware/auth";
import { actingUserId, type ServiceContext } from "../../services/context";
import * as notification from "../../services/notification";

// ── Schemas ─────────────────────────────────────────────────────────────────────────────────────

const kindFlag = (kind: (typeof NOTIFICATION_KINDS)[number]) => z.boolean().openapi({ description: `Email me about each ${NOTIFICATION_KIND_LABELS[kind]}` });

export const NotificationPreferencesSchema = z
  .object({
    backupFailure: kindFlag("backupFailure"),
    anomaly: kindFlag("anomaly"),
    agentOffline: kindFlag("agentOffline").openapi({ description: "Email me when an agent has been offline for more than 10 minutes" }),
    weeklyReport: kindFlag("weeklyReport").openapi({ description: "Email me a summary of the week's runs, failures and sizes per job (Mondays)" }),
  })
  .openapi("NotificationPreferences");

const NotificationPreferencesUpdateSchema = NotificationPreferencesSchema.partial()
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: `Give at least one of ${NOTIFICATION_KINDS.join(", ")}.` })
  .openapi("NotificationPreferencesUpdate", { description: "Any of the four switches; the others keep their value." });

const UnsubscribeQuerySchema = z.object({
  token: z.string().min(1).max(2048).openapi({ description: "The signed token of the link in the alert email" }),
});

const UnsubscribedSchema = z
  .object({ message: z.string(), kind: z.enum(NOTIFICATION_KINDS).openapi({ description: "The kind of email turned off" }) })
  .openapi("Unsubscribed");

// ── Routes ──────────────────────────────────────────────────────────────────────────────────────

const tags = ["Account"];
const alertsDescription =
  "Email alerts, every plan: a failed run, an anomaly, an agent offline for more than 10 minutes, and a weekly summary. " +
  "Per job (or agent) and kind, the first alert is sent at once and further ones within the hour are batched into one email an hour; a successful run resets this. " +
  "Every email carries a one-click unsubscribe link for its kind.";

export const getNotifications = createRoute({
  operationId: "getNotificationPreferences",
  method: "get",
  path: "/api/account/notifications",
  tags,
  summary: "The caller's email alert choices (all on by default)",
  description: alertsDescription,
  ...authenticated,
  responses: { 200: jsonResponse(NotificationPreferencesSchema, "The four switches"), ...errorResponses(401, 403) },
});

export const updateNotifications = createRoute({
  operationId: "updateNotificationPreferences",
  method: "put",
  path: "/api/account/notifications",
  tags,
  summary: "Turn email alerts on or off (any subset of the four switches)",
  description: alertsDescription,
  ...authenticated,
  request: { body: jsonBody(NotificationPreferencesUpdateSchema) },
  responses: { 200: jsonResponse(NotificationPreferencesSchema, "The four switches after the change"), ...errorResponses(400, 401, 403, 415) },
});

export const unsubscribePage = createRoute({
  operationId: "unsubscribePage",
  security: [],
  method: "get",
  path: "/api/account/notifications/unsubscribe",
  tags,
  summary: "The page behind an email's unsubscribe link: names the kind and offers the one-click button (changes nothing itself)",
  description: "A GET never unsubscribes, so link scanners and previews cannot; the page's button (and mail clients, per RFC 8058) POST to the same URL.",
  request: { query: UnsubscribeQuerySchema },
  responses: {
    200: { description: "A confirmation page with an Unsubscribe button", content: { "text/html": { schema: z.string() } } },
    ...errorResponses(400),
  },
});

export const unsubscribe = createRoute({
  operationId: "unsubscribe",
  security: [],
  method: "post",
  path: "/api/account/notifications/unsubscribe",
  tags,
  summary: "One-click unsubscribe (RFC 8058): turns off the token's kind of email for its user",
  description:
    "The target of `List-Unsubscribe`/`List-Unsubscribe-Post`. Any body is accepted and ignored (mail clients send `List-Unsubscribe=One-Click` as a form). " +
    "Idempotent: using the link again answers that the user was already unsubscribed. A browser (Accept: text/html) gets a page, other clients JSON.",
  request: { query: UnsubscribeQuerySchema },
  responses: {
    200: {
      description: "Unsubscribed from that kind (the other kinds are unchanged)",
      content: { "application/json": { schema: UnsubscribedSchema }, "text/html": { schema: z.string() } },
    },
    ...errorResponses(400),
  },
});

// ── Handlers ────────────────────────────────────────────────────────────────────────────────────

/** Preferences belong to a user: an API key whose creator was deleted has none. */
function userOf(ctx: ServiceContext): string {
  const userId = actingUserId(ctx.principal);
  if (!userId) throw forbidden("Notification preferences belong to a user; this API key's creator no longer exists.");
  return userId;
}

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} · DataSync</title></head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

const getNotificationsHandler: AppRouteHandler<typeof getNotifications> = async (c) =>
  c.json(await notification.getNotificationPreferences(c.var.ctx, userOf(c.var.ctx)), 200);

const updateNotificationsHandler: AppRouteHandler<typeof updateNotifications> = async (c) =>
  c.json(await notification.updateNotificationPreferences(c.var.ctx, userOf(c.var.ctx), c.req.valid("json")), 200);

const unsubscribePageHandler: AppRouteHandler<typeof unsubscribePage> = async (c) => {
  const { token } = c.req.valid("query");
  const { label, email } = await notification.readUnsubscribeToken(c.var.publicCtx, token);
  const form = `<form method="post" action="/api/account/notifications/unsubscribe?token=${escapeHtml(encodeURIComponent(token))}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`;
  const html = page("Unsubscribe", `<p>Stop sending ${escapeHtml(label)} emails to ${escapeHtml(email)}?</p>${form}`);
  return c.body(html, 200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
};

const unsubscribeHandler: AppRouteHandler<typeof unsubscribe> = async (c) => {
  const result = await notification.unsubscribe(c.var.publicCtx, c.req.valid("query").token);
  if (c.req.header("accept")?.includes("text/html")) {
    const html = page("Unsubscribed", `<p>${escapeHtml(result.message)}</p><p>You can change every email choice on your account page.</p>`);
    return c.body(html, 200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  }
  return c.json(result, 200);
};

export const notificationRouter = createRouter()
  .openapi(getNotifications, getNotificationsHandler)
  .openapi(updateNotifications, updateNotificationsHandler)
  .openapi(unsubscribePage, unsubscribePageHandler)
  .openapi(unsubscribe, unsubscribeHandler);
