import { and, eq, exists, inArray, isNull, lte, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type EventType, PLANS, subscribers, webhookDeliveries, webhooks } from "../db/schema";
import { PLAN_LIMITS } from "./plan";

/**
 * How deliveries get into the queue: the fan-out written with each event, the publish right after the
 * event's batch commits, and the sweep that catches what the publish missed. D1 holds the deliveries;
 * a queue message is only a pointer to one.
 */

export const WEBHOOK_QUEUE_NAME = "datasync-webhooks";
export const WEBHOOK_DEAD_LETTER_QUEUE_NAME = "datasync-webhooks-dlq";

export interface DeliveryMessage {
  deliveryId: string;
}

/** The publish gets this long to enqueue a new delivery before the sweep does it instead. */
export const PUBLISH_GRACE_MS = 30_000;
/** A due delivery untouched this long lost its queue message (e.g. the consumer died between attempt and retry). */
export const STALLED_AFTER_MS = 10 * 60_000;
const SWEEP_BATCH = 500;
// One id per bound parameter, plus the timestamp: under D1's 100-parameter limit; also under sendBatch's 100 messages.
const ENQUEUE_CHUNK = 90;

const WEBHOOK_PLANS = PLANS.filter((plan) => PLAN_LIMITS[plan].features.webhooks);

/** A random v4 UUID made by SQLite, for delivery rows created by INSERT … SELECT. */
const sqlUuidV4 = sql<string>`lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`;

/**
 * INSERT … SELECT of one delivery per enabled webhook of the subscriber that subscribes to the event
 * type (only while the plan includes webhooks), or, for the test endpoint, for exactly `onlyWebhookId`.
 * Goes into the same batch as the event, so an event never exists without its deliveries.
 */
export function deliveryFanOut(
  { db, subscriberId, now }: { db: Db; subscriberId: string; now: Date },
  event: { id: string; type: EventType },
  onlyWebhookId?: string,
) {
  const matching = onlyWebhookId
    ? eq(webhooks.id, onlyWebhookId)
    : and(
        eq(webhooks.isEnabled, true),
        sql`exists (select 1 from json_each(${webhooks.events}) where json_each.value = ${event.type})`,
      );
  const planIncludesWebhooks = exists(
    db
      .select({ one: sql`1` })
      .from(subscribers)
      .where(and(eq(subscribers.id, subscriberId), inArray(subscribers.plan, WEBHOOK_PLANS))),
  );
  return db.insert(webhookDeliveries).select(
    db
      .select({
        id: sqlUuidV4.as("id"),
        subscriberId: webhooks.subscriberId,
        webhookId: webhooks.id,
        eventId: sql<string>`${event.id}`.as("event_id"),
        eventType: sql<EventType>`${event.type}`.as("event_type"),
        status: sql<string>`'pending'`.as("status"),
        attempts: sql<number>`0`.as("attempts"),
        nextAttemptAt: sql<number>`${now.getTime()}`.as("next_attempt_at"),
        enqueuedAt: sql<null>`null`.as("enqueued_at"),
        queueMessageId: sql<null>`null`.as("queue_message_id"),
        lastAttemptAt: sql<null>`null`.as("last_attempt_at"),
        responseStatus: sql<null>`null`.as("response_status"),
        lastError: sql<null>`null`.as("last_error"),
        createdAt: sql<number>`${now.getTime()}`.as("created_at"),
      })
      .from(webhooks)
      .where(and(eq(webhooks.subscriberId, subscriberId), matching, planIncludesWebhooks)),
  );
}

/** Sends one message per delivery, then notes when (a failed send leaves `enqueuedAt` for the sweep to see). */
async function enqueueDeliveries(env: Env, db: Db, deliveryIds: string[], now: Date): Promise<void> {
  for (let i = 0; i < deliveryIds.length; i += ENQUEUE_CHUNK) {
    const chunk = deliveryIds.slice(i, i + ENQUEUE_CHUNK);
    await env.WEBHOOK_QUEUE.sendBatch(chunk.map((deliveryId) => ({ body: { deliveryId } satisfies DeliveryMessage, contentType: "json" as const })));
    await db.update(webhookDeliveries).set({ enqueuedAt: now }).where(inArray(webhookDeliveries.id, chunk));
  }
}

/** Enqueues the not yet enqueued deliveries of these events (their batch has committed). */
export async function enqueueEventDeliveries(env: Env, db: Db, eventIds: string[], now: Date): Promise<void> {
  for (let i = 0; i < eventIds.length; i += ENQUEUE_CHUNK) {
    const rows = await db
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(and(inArray(webhookDeliveries.eventId, eventIds.slice(i, i + ENQUEUE_CHUNK)), isNull(webhookDeliveries.enqueuedAt)));
    await enqueueDeliveries(
      env,
      db,
      rows.map((r) => r.id),
      now,
    );
  }
}

/**
 * The scheduled safety net: enqueues pending deliveries that are due and were never enqueued (the
 * publish after their batch failed), or whose message was lost. A duplicate message is harmless: an
 * attempt starts only by claiming the row in D1. Returns how many it enqueued.
 */
export async function sweepWebhookDeliveries(env: Env, db: Db, now: Date): Promise<number> {
  const stalledBefore = new Date(now.getTime() - STALLED_AFTER_MS);
  const rows = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.status, "pending"),
        lte(webhookDeliveries.nextAttemptAt, new Date(now.getTime() - PUBLISH_GRACE_MS)),
        or(
          isNull(webhookDeliveries.enqueuedAt),
          and(lte(webhookDeliveries.nextAttemptAt, stalledBefore), lte(webhookDeliveries.enqueuedAt, stalledBefore)),
        ),
      ),
    )
    .orderBy(webhookDeliveries.nextAttemptAt)
    .limit(SWEEP_BATCH);
  await enqueueDeliveries(
    env,
    db,
    rows.map((r) => r.id),
    now,
  );
  return rows.length;
}
