import { and, eq, gte } from "drizzle-orm";
import { createDb } from "../db/client";
import { errorText, log } from "../lib/log";
import { webhookDeliveries } from "../db/schema";
import { isQueueProbe } from "./health";
import { ATTEMPT_LEASE_MS, deliverWebhook } from "./webhook-delivery";
import type { FetchFunction } from "./webhook-post";
import type { DeliveryMessage } from "./webhook-queue";
import { MAX_ATTEMPTS, retryDelaySeconds } from "./webhook-retry";

/**
 * The two queue consumers of webhook deliveries. D1's `attempts` is the truth about how often a delivery
 * was tried and when it is spent; the queue's own count of tries only paces retries after the platform
 * itself failed.
 */

function isDeliveryMessage(body: unknown): body is DeliveryMessage {
  return typeof body === "object" && body !== null && typeof (body as DeliveryMessage).deliveryId === "string";
}


/**
 * Consumer of `datasync-webhooks`. Every message is acked or retried explicitly and the handler never
 * throws (a throw would retry the whole batch, repeating deliveries that succeeded).
 */
export async function consumeWebhookDeliveries(batch: MessageBatch<unknown>, env: Env, fetchFn: FetchFunction = (url, init) => fetch(url, init)) {
  const db = createDb(env.DB);
  await Promise.all(
    batch.messages.map(async (message) => {
      if (isQueueProbe(message.body)) {
        message.ack();
        return;
      }
      if (!isDeliveryMessage(message.body)) {
        log.error("webhook.queue.malformed", { messageId: message.id });
        message.ack();
        return;
      }
      try {
        const verdict = await deliverWebhook(env, db, message.body.deliveryId, message.id, fetchFn);
        if (verdict.action === "retry") {
          message.retry({ delaySeconds: verdict.delaySeconds });
          return;
        }
        if (verdict.action === "dead-letter") await env.WEBHOOK_DEAD_LETTERS.send(message.body, { contentType: "json" });
        message.ack();
      } catch (err) {
        // D1 or the queue failed us, not the receiver: back off by the queue's own count of tries, and
        // not before an attempt this message may have claimed has let go of the row.
        log.error("webhook.delivery.unprocessed", { deliveryId: message.body.deliveryId, error: errorText(err) });
        message.retry({ delaySeconds: Math.max(ATTEMPT_LEASE_MS / 1000, retryDelaySeconds(message.attempts, null)) });
      }
    }),
  );
}

/**
 * Consumer of `datasync-webhooks-dlq`: a delivery whose last attempt failed is marked failed (`lastError`
 * keeps the last reason). D1 decides, not the queue: a message the queue gave up on for another reason
 * (its own retry count ran out) leaves the delivery pending, and the sweep sends it a new message.
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env) {
  const db = createDb(env.DB);
  await Promise.all(
    batch.messages.map(async (message) => {
      if (!isDeliveryMessage(message.body)) {
        message.ack();
        return;
      }
      try {
        await db
          .update(webhookDeliveries)
          .set({ status: "failed", nextAttemptAt: null })
          .where(
            and(
              eq(webhookDeliveries.id, message.body.deliveryId),
              eq(webhookDeliveries.status, "pending"),
              gte(webhookDeliveries.attempts, MAX_ATTEMPTS),
            ),
          );
        message.ack();
      } catch (err) {
        log.error("webhook.dead_letter.unprocessed", { deliveryId: message.body.deliveryId, error: errorText(err) });
        message.retry();
      }
    }),
  );
}
