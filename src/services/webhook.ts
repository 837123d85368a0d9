import { and, count, desc, eq } from "drizzle-orm";
import { type SubscribableEventType, webhookDeliveries, webhooks } from "../db/schema";
import { ApiError, badRequest, notFound } from "../lib/errors";
import { type Pagination, pageOffset } from "../lib/pagination";
import { eventInsert, publishEvents } from "./event";
import type { ServiceContext } from "./context";
import { assertPlanFeature } from "./plan";
import { SECRET_BINDINGS, resealIfUnbound, sealSecret } from "./secret";
import { WEBHOOK_TEST_EVENTS, takeBudget } from "./rate-limit";
import { createWithinPlanLimit } from "./usage";
import { generateWebhookSecret } from "./webhook-signature";
import { webhookUrlProblem } from "./url-policy";


export type WebhookRow = typeof webhooks.$inferSelect;

/** 400 naming `url` when the policy refuses it (https only, nothing internal). */
function assertWebhookUrl(env: Env, url: string): void {
  const problem = webhookUrlProblem(url, env);
  if (problem) throw badRequest(problem, [{ path: "url", message: problem }]);
}

// The reads come before the plan check: a GET reads while the limiter decides, and the plan is known
// once a read has answered (see middleware/auth.ts).
export async function listWebhooks(ctx: ServiceContext) {
  const rows = await ctx.db.select().from(webhooks).where(eq(webhooks.subscriberId, ctx.subscriberId)).orderBy(desc(webhooks.createdAt), desc(webhooks.id));
  assertPlanFeature(ctx.plan, "webhooks");
  return rows;
}

/** The caller's webhook; another subscriber's id is answered like an unknown one. */
export async function findWebhook(ctx: ServiceContext, webhookId: string): Promise<WebhookRow> {
  const row = await ctx.db.query.webhooks.findFirst({ where: and(eq(webhooks.id, webhookId), eq(webhooks.subscriberId, ctx.subscriberId)) });
  assertPlanFeature(ctx.plan, "webhooks");
  if (!row) throw notFound("Webhook not found.");
  return row;
}

/** Stores a webhook with its secret sealed; the plaintext secret is returned once, to this caller only. */
export async function createWebhook(
  ctx: ServiceContext,
  input: { url: string; events: SubscribableEventType[]; secret?: string },
): Promise<{ webhook: WebhookRow; secret: string }> {
  const { db, subscriberId, now, env, plan } = ctx;
  assertPlanFeature(plan, "webhooks");
  assertWebhookUrl(env, input.url);
  const secret = input.secret ?? generateWebhookSecret();
  const webhookId = crypto.randomUUID();
  const webhook: WebhookRow = {
    id: webhookId,
    subscriberId,
    url: input.url,
    events: [...new Set(input.events)],
    sealedSecret: await sealSecret(env, secret, SECRET_BINDINGS.webhookSecret(webhookId)),
    isEnabled: true,
    failingSince: null,
    createdAt: now,
    updatedAt: now,
  };
  await createWithinPlanLimit(ctx, "webhooks", (limitedSubscriberId) => db.insert(webhooks).values({ ...webhook, subscriberId: limitedSubscriberId }));
  return { webhook, secret };
}

/** Changes what is given. Re-enabling starts the count of failing days afresh. */
export async function updateWebhook(
  ctx: ServiceContext,
  webhookId: string,
  input: { url?: string; events?: SubscribableEventType[]; isEnabled?: boolean },
): Promise<WebhookRow> {
  const current = await findWebhook(ctx, webhookId);
  if (input.url !== undefined) assertWebhookUrl(ctx.env, input.url);
  const changes: Partial<WebhookRow> = { updatedAt: ctx.now };
  if (input.url !== undefined) changes.url = input.url;
  if (input.events !== undefined) changes.events = [...new Set(input.events)];
  if (input.isEnabled !== undefined) changes.isEnabled = input.isEnabled;
  if (input.isEnabled && !current.isEnabled) changes.failingSince = null;
  // A release-1 secret (sealed unbound) is bound to its webhook on this write.
  const sealedSecret = await resealIfUnbound(ctx.env, current.sealedSecret, SECRET_BINDINGS.webhookSecret(webhookId));
  if (sealedSecret !== current.sealedSecret) changes.sealedSecret = sealedSecret;
  const [updated] = await ctx.db
    .update(webhooks)
    .set(changes)
    .where(and(eq(webhooks.id, webhookId), eq(webhooks.subscriberId, ctx.subscriberId)))
    .returning();
  if (!updated) throw notFound("Webhook not found.");
  return updated;
}

/** Deletes the webhook and its delivery history; messages still queued for it find nothing and are dropped. */
export async function deleteWebhook(ctx: ServiceContext, webhookId: string): Promise<void> {
  assertPlanFeature(ctx.plan, "webhooks");
  const deleted = await ctx.db
    .delete(webhooks)
    .where(and(eq(webhooks.id, webhookId), eq(webhooks.subscriberId, ctx.subscriberId)))
    .returning({ id: webhooks.id });
  if (deleted.length === 0) throw notFound("Webhook not found.");
}

/**
 * Records a `webhook.test` event delivered to this one webhook only, and queues it. Only for an enabled
 * webhook and at most WEBHOOK_TEST_EVENTS per webhook (429 after), and sent once, never retried: the
 * endpoint must not turn the platform into a signed-request cannon aimed at someone else's URL.
 */
export async function sendTestEvent(ctx: ServiceContext, webhookId: string): Promise<void> {
  const webhook = await findWebhook(ctx, webhookId);
  if (!webhook.isEnabled) throw new ApiError("conflict", "Webhook is disabled; enable it to send a test event.");
  await takeBudget(ctx.env, `webhook-test:${webhook.id}`, WEBHOOK_TEST_EVENTS, ctx.now.getTime());
  const event = eventInsert(
    ctx,
    "webhook.test",
    { webhookId: webhook.id, message: "This is a test event from DataSync." },
    webhook.id,
  );
  await ctx.db.batch([...event.queries]);
  await publishEvents(ctx.env, [event.id]);
}

/** One page of a webhook's deliveries, newest first, with the total over all pages. */
export async function listDeliveries(ctx: ServiceContext, webhookId: string, page: Pagination) {
  await findWebhook(ctx, webhookId);
  const mine = and(eq(webhookDeliveries.subscriberId, ctx.subscriberId), eq(webhookDeliveries.webhookId, webhookId));
  const [rows, [{ total }]] = await ctx.db.batch([
    ctx.db
      .select()
      .from(webhookDeliveries)
      .where(mine)
      .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
      .limit(page.pageSize)
      .offset(pageOffset(page)),
    ctx.db.select({ total: count() }).from(webhookDeliveries).where(mine),
  ]);
  return { rows, total };
}

