import { createDb } from "../db/client";
import { type EventType, events } from "../db/schema";
import { clock } from "../lib/clock";
import { errorText, log } from "../lib/log";
import { enqueueEventAlerts } from "./alert-queue";
import type { TenantScope } from "./context";
import { deliveryFanOut, enqueueEventDeliveries } from "./webhook-queue";

/**
 * The writes that record one event, to spread into the same `db.batch([...])` as the change that caused
 * it, so an event exists exactly when its change does: the event and one webhook delivery per matching
 * webhook (`onlyWebhookId`: the test endpoint's single target). Returns the new event id and the
 * queries; after the batch commits, pass the id to `publishEvents` so the deliveries start at once.
 */
export function eventInsert(ctx: TenantScope, type: EventType, data: Record<string, unknown>, onlyWebhookId?: string) {
  const { db, subscriberId, now } = ctx;
  const id = crypto.randomUUID();
  return {
    id,
    queries: [db.insert(events).values({ id, subscriberId, type, data, createdAt: now }), deliveryFanOut(ctx, { id, type }, onlyWebhookId)] as const,
  };
}

/**
 * Queues the webhook deliveries and the email alerts of events whose batch has committed. Never throws:
 * if the queue is unavailable the deliveries stay in D1 and the scheduled sweep enqueues them a minute later.
 */
export async function publishEvents(env: Env, eventIds: string[]): Promise<void> {
  try {
    await enqueueEventDeliveries(env, createDb(env.DB), eventIds, clock.now());
  } catch (err) {
    log.error("webhook.publish.failed", { events: eventIds.length, error: errorText(err), note: "the sweep will enqueue them" });
  }
  await enqueueEventAlerts(env, eventIds);
}
