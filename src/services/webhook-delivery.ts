import { and, eq, lte, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { events, webhookDeliveries, webhooks } from "../db/schema";
import { clock } from "../lib/clock";
import { recordMetric } from "../lib/metrics";
import { platformLogInsert } from "./log";
import { SECRET_BINDINGS, openSecret } from "./secret";
import { webhookUrlProblem } from "./url-policy";
import { type FetchFunction, postEvent } from "./webhook-post";
import { MAX_ATTEMPTS, firstRetrySeconds, retryDelaySeconds } from "./webhook-retry";

/**
 * One delivery's state in D1, attempt by attempt: due, claimed, delivered, retried, failed, and the
 * webhook disabled when its receiver is gone. Signing, the retry policy, the HTTP request and the queue
 * consumers live in webhook-signature, webhook-retry, webhook-post and webhook-consumers.
 */

/** While an attempt runs, the row is not due for this long, so a duplicate message cannot start a second one. */
export const ATTEMPT_LEASE_MS = 60_000;
/** A queue message may arrive a little before the due time D1 recorded (clocks of different machines). */
const EARLY_ARRIVAL_MS = 2_000;
export const DISABLE_AFTER_FAILING_MS = 5 * 24 * 3600_000;

/** Turns a webhook off (once) and says why in the platform log. The URL may embed a token, so only its host is named. */
async function disableWebhook(db: Db, webhook: { id: string; subscriberId: string; url: string }, now: Date, reason: string) {
  const changed = await db
    .update(webhooks)
    .set({ isEnabled: false, updatedAt: now })
    .where(and(eq(webhooks.id, webhook.id), eq(webhooks.isEnabled, true)))
    .returning({ id: webhooks.id });
  if (changed.length === 0) return;
  const host = new URL(webhook.url).host;
  await platformLogInsert({ db, subscriberId: webhook.subscriberId, now }, { severity: "Warning", message: `Webhook ${webhook.id} (${host}) disabled: ${reason}` });
}

type Verdict = { action: "ack" } | { action: "retry"; delaySeconds: number } | { action: "dead-letter" };
const ACK: Verdict = { action: "ack" };

type DeliveryRow = NonNullable<Awaited<ReturnType<typeof loadDelivery>>>;
type AttemptOutcome = Awaited<ReturnType<typeof postEvent>>;

/** The delivery with its webhook and event. */
function loadDelivery(db: Db, deliveryId: string) {
  return db
    .select({ delivery: webhookDeliveries, webhook: webhooks, event: events })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .innerJoin(events, eq(events.id, webhookDeliveries.eventId))
    .where(eq(webhookDeliveries.id, deliveryId))
    .get();
}

/** Why the delivery must not be attempted at all, or null. */
function refusal(env: Env, { webhook }: DeliveryRow): string | null {
  return webhook.isEnabled ? webhookUrlProblem(webhook.url, env) : "Webhook disabled.";
}

/**
 * Claims the next attempt: the row must still be pending, with the attempt count read and due (give or
 * take EARLY_ARRIVAL_MS). Returns the attempt's number, or null when another message holds it or it is not due.
 */
async function claimAttempt(db: Db, delivery: DeliveryRow["delivery"], messageId: string, now: Date): Promise<number | null> {
  const claimed = await db
    .update(webhookDeliveries)
    .set({
      attempts: sql`${webhookDeliveries.attempts} + 1`,
      lastAttemptAt: now,
      nextAttemptAt: new Date(now.getTime() + ATTEMPT_LEASE_MS),
      queueMessageId: messageId,
    })
    .where(
      and(
        eq(webhookDeliveries.id, delivery.id),
        eq(webhookDeliveries.status, "pending"),
        eq(webhookDeliveries.attempts, delivery.attempts),
        lte(webhookDeliveries.nextAttemptAt, new Date(now.getTime() + EARLY_ARRIVAL_MS)),
      ),
    )
    .returning({ attempts: webhookDeliveries.attempts });
  return claimed[0]?.attempts ?? null;
}

/** A failed attempt: the next one is scheduled (or none, when spent) and the webhook is disabled after 5 failing days. */
async function recordFailure(env: Env, db: Db, { delivery, webhook }: DeliveryRow, attempt: number, result: AttemptOutcome, now: Date): Promise<Verdict> {
  const exhausted = attempt >= MAX_ATTEMPTS;
  const delaySeconds = exhausted ? 0 : retryDelaySeconds(attempt, result.retryAfterSeconds, Math.random, firstRetrySeconds(env));
  const [, [failing]] = await db.batch([
    db
      .update(webhookDeliveries)
      // Exhausted: due at once, so whichever message sees it next (or the sweep) dead-letters it.
      .set({ responseStatus: result.responseStatus, lastError: result.error, nextAttemptAt: new Date(now.getTime() + delaySeconds * 1000), enqueuedAt: now })
      .where(eq(webhookDeliveries.id, delivery.id)),
    db
      .update(webhooks)
      .set({ failingSince: sql`coalesce(${webhooks.failingSince}, ${now.getTime()})` })
      .where(eq(webhooks.id, webhook.id))
      .returning({ failingSince: webhooks.failingSince }),
  ]);
  if (failing?.failingSince && now.getTime() - failing.failingSince.getTime() >= DISABLE_AFTER_FAILING_MS) {
    await disableWebhook(db, webhook, now, "its deliveries have failed for 5 days.");
  }
  recordMetric(env, { event: "webhook_delivery", outcome: exhausted ? "exhausted" : "retry" });
  return exhausted ? { action: "dead-letter" } : { action: "retry", delaySeconds };
}

/** Records what the receiver answered and says what to do with the queue message. */
async function recordOutcome(env: Env, db: Db, row: DeliveryRow, attempt: number, result: AttemptOutcome, now: Date): Promise<Verdict> {
  const { delivery, webhook } = row;
  const outcome = { responseStatus: result.responseStatus, lastError: result.error };
  if (result.ok) {
    await db.batch([
      db
        .update(webhookDeliveries)
        .set({ ...outcome, status: "delivered", nextAttemptAt: null })
        .where(eq(webhookDeliveries.id, delivery.id)),
      db.update(webhooks).set({ failingSince: null }).where(eq(webhooks.id, webhook.id)),
    ]);
    recordMetric(env, { event: "webhook_delivery", outcome: "delivered" });
    return ACK;
  }
  // Final at once: a 410, and any failed test event (one attempt only, never retried, and it says nothing
  // about the receiver's health for real events).
  const gone = result.responseStatus === 410;
  if (gone || row.event.type === "webhook.test") {
    await db
      .update(webhookDeliveries)
      .set({ ...outcome, status: "failed", nextAttemptAt: null })
      .where(eq(webhookDeliveries.id, delivery.id));
    if (gone) await disableWebhook(db, webhook, now, "the receiver answered 410 Gone.");
    recordMetric(env, { event: "webhook_delivery", outcome: gone ? "gone" : "test_failed" });
    return ACK;
  }
  return recordFailure(env, db, row, attempt, result, now);
}

/**
 * Makes the next attempt of one delivery if it is due, records the outcome in D1 and says what to do
 * with the queue message `messageId`. An attempt starts only by claiming the row (attempt count and due
 * time both unchanged), so duplicate messages never cause a second request.
 */
export async function deliverWebhook(env: Env, db: Db, deliveryId: string, messageId: string, fetchFn: FetchFunction): Promise<Verdict> {
  const now = clock.now();
  const row = await loadDelivery(db, deliveryId);
  // Gone with its webhook, or already final: nothing left to do for this message.
  if (!row || row.delivery.status !== "pending") return ACK;
  const { delivery, webhook, event } = row;
  if (delivery.attempts >= MAX_ATTEMPTS) return { action: "dead-letter" };

  const refused = refusal(env, row);
  if (refused) {
    await db
      .update(webhookDeliveries)
      .set({ status: "failed", nextAttemptAt: null, lastError: refused })
      .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, "pending")));
    recordMetric(env, { event: "webhook_delivery", outcome: "refused" });
    return ACK;
  }

  const attempt = await claimAttempt(db, delivery, messageId, now);
  if (attempt === null) {
    // Not due. The message carrying the retry may arrive early (e.g. the queue redelivers a batch whose
    // invocation failed): keep it until the due time. Any other copy is a duplicate.
    const dueInMs = (delivery.nextAttemptAt?.getTime() ?? 0) - now.getTime();
    return delivery.queueMessageId === messageId && dueInMs > 0 ? { action: "retry", delaySeconds: Math.ceil(dueInMs / 1000) } : ACK;
  }
  const result = await postEvent(fetchFn, webhook.url, await openSecret(env, webhook.sealedSecret, SECRET_BINDINGS.webhookSecret(webhook.id)), event, now);
  return recordOutcome(env, db, row, attempt, result, now);
}
