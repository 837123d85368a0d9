import { and, eq, gte, lte, sql } from "drizzle-orm";
import { type Db, createDb } from "../db/client";
import { events, webhookDeliveries, webhooks } from "../db/schema";
import { clock } from "../lib/clock";
import { base64, fromBase64, randomBytes } from "../lib/crypto";
import { isoUtc } from "../lib/time";
import { platformLogInsert } from "./activity";
import { openSecret } from "./secrets";
import { webhookUrlProblem } from "./url-policy";
import type { DeliveryMessage } from "./webhook-queue";

/**
 * Sending one delivery per Standard Webhooks (https://www.standardwebhooks.com): signing, the retry
 * schedule, and the queue consumers. D1's `attempts` is the truth about how often a delivery was tried
 * and when it is spent; the queue's own count of tries only paces retries after the platform itself failed.
 */

const SECRET_PREFIX = "whsec_";
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

export const MAX_ATTEMPTS = 8;
/** Cloudflare Queues refuses a longer `delaySeconds`; the schedule caps its steps here. */
export const MAX_QUEUE_DELAY_SECONDS = 12 * 3600;
/** The default of the Worker var `WEBHOOK_FIRST_RETRY_SECONDS`. */
const FIRST_RETRY_SECONDS = 60;
const BACKOFF_FACTOR = 5;
const ATTEMPT_TIMEOUT_MS = 15_000;
/** While an attempt runs, the row is not due for this long, so a duplicate message cannot start a second one. */
const ATTEMPT_LEASE_MS = 60_000;
/** A queue message may arrive a little before the due time D1 recorded (clocks of different machines). */
const EARLY_ARRIVAL_MS = 2_000;
export const DISABLE_AFTER_FAILING_MS = 5 * 24 * 3600_000;

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + base64(randomBytes(32));
}

/**
 * The HMAC key of a `whsec_…` secret, or null when it is not one. `whsec_<base64>` of 24 to 64 bytes (as
 * the specification recommends) is decoded. The seed's own example, `whsec_your-signing-secret`, is not
 * base64: such a secret is used as-is, its UTF-8 bytes being the key (as GitHub's webhook secrets are),
 * when it is at least 16 visible characters long.
 */
export function webhookSigningKey(secret: string): Uint8Array<ArrayBuffer> | null {
  if (!secret.startsWith(SECRET_PREFIX)) return null;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) && encoded.length % 4 === 0) {
    const key = fromBase64(encoded);
    return key.length >= MIN_SECRET_BYTES && key.length <= MAX_SECRET_BYTES ? key : null;
  }
  return /^[\x21-\x7e]{16,256}$/.test(encoded) ? (new TextEncoder().encode(encoded) as Uint8Array<ArrayBuffer>) : null;
}

export const WEBHOOK_SECRET_RULE = `secret must be "${SECRET_PREFIX}" followed by the base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} random bytes, or by 16 to 256 visible characters.`;

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, the `webhook-signature` header. */
export async function signWebhook(secret: string, messageId: string, timestampSeconds: number, body: string): Promise<string> {
  const raw = webhookSigningKey(secret);
  if (!raw) throw new Error("Stored webhook secret is malformed");
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${messageId}.${timestampSeconds}.${body}`));
  return `v1,${base64(new Uint8Array(mac))}`;
}

/**
 * Seconds to wait after `attemptsMade` failed attempts: `firstRetrySeconds` (1 min) × 5^(n−1), capped at
 * 12 h, minus up to 20 % jitter (only downwards, so the cap holds), never sooner than the receiver's
 * Retry-After. With the default, the 7 waits of 8 attempts add up to 29.6 to 37 hours.
 */
export function retryDelaySeconds(
  attemptsMade: number,
  retryAfterSeconds: number | null,
  random: () => number = Math.random,
  firstRetrySeconds = FIRST_RETRY_SECONDS,
): number {
  const backoff = Math.min(MAX_QUEUE_DELAY_SECONDS, firstRetrySeconds * BACKOFF_FACTOR ** Math.max(0, attemptsMade - 1));
  const jittered = Math.round(backoff * (0.8 + 0.2 * random()));
  return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(jittered, retryAfterSeconds ?? 0));
}

/** `Retry-After` as seconds from `now`: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: Date): number | null {
  if (!header) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now.getTime()) / 1000));
}

function firstRetrySeconds(env: Env): number {
  const configured = Number(env.WEBHOOK_FIRST_RETRY_SECONDS);
  return Number.isFinite(configured) && configured > 0 ? configured : FIRST_RETRY_SECONDS;
}

export type FetchFunction = (url: string, init: RequestInit) => Promise<Response>;

interface AttemptResult {
  ok: boolean;
  responseStatus: number | null;
  error: string | null;
  retryAfterSeconds: number | null;
}

/** One POST of a signed event; never throws (a network error or timeout is a failed attempt). */
async function postEvent(
  fetchFn: FetchFunction,
  url: string,
  secret: string,
  event: { id: string; type: string; data: Record<string, unknown>; createdAt: Date },
  now: Date,
): Promise<AttemptResult> {
  const body = JSON.stringify({ type: event.type, timestamp: isoUtc(event.createdAt), data: event.data });
  const timestamp = Math.floor(now.getTime() / 1000);
  const headers = {
    "content-type": "application/json",
    "user-agent": "DataSync-Webhooks/1.0",
    "webhook-id": event.id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signWebhook(secret, event.id, timestamp, body),
  };
  try {
    const res = await fetchFn(url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) });
    await res.body?.cancel();
    const ok = res.status >= 200 && res.status < 300;
    const error = ok
      ? null
      : res.status >= 300 && res.status < 400
        ? `Receiver answered a redirect (${res.status}); redirects are not followed.`
        : `Receiver answered ${res.status}.`;
    return { ok, responseStatus: res.status, error, retryAfterSeconds: parseRetryAfter(res.headers.get("retry-after"), now) };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    const error = timedOut ? "No answer within 15 seconds." : `Request failed: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, responseStatus: null, error, retryAfterSeconds: null };
  }
}

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

/**
 * Makes the next attempt of one delivery if it is due, records the outcome in D1 and says what to do
 * with the queue message `messageId`. An attempt starts only by claiming the row (attempt count and due
 * time both unchanged), so duplicate messages never cause a second request.
 */
export async function deliverWebhook(env: Env, db: Db, deliveryId: string, messageId: string, fetchFn: FetchFunction): Promise<Verdict> {
  const now = clock.now();
  const row = await db
    .select({ delivery: webhookDeliveries, webhook: webhooks, event: events })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .innerJoin(events, eq(events.id, webhookDeliveries.eventId))
    .where(eq(webhookDeliveries.id, deliveryId))
    .get();
  // Gone with its webhook, or already final: nothing left to do for this message.
  if (!row || row.delivery.status !== "pending") return ACK;
  const { delivery, webhook, event } = row;
  if (delivery.attempts >= MAX_ATTEMPTS) return { action: "dead-letter" };

  // A test event is sent even to a disabled webhook: the user asked for it, e.g. before re-enabling.
  const refusal =
    !webhook.isEnabled && event.type !== "webhook.test" ? "Webhook disabled." : webhookUrlProblem(webhook.url, env);
  if (refusal) {
    await db
      .update(webhookDeliveries)
      .set({ status: "failed", nextAttemptAt: null, lastError: refusal })
      .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, "pending")));
    return ACK;
  }

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
        eq(webhookDeliveries.id, deliveryId),
        eq(webhookDeliveries.status, "pending"),
        eq(webhookDeliveries.attempts, delivery.attempts),
        lte(webhookDeliveries.nextAttemptAt, new Date(now.getTime() + EARLY_ARRIVAL_MS)),
      ),
    )
    .returning({ attempts: webhookDeliveries.attempts });
  if (claimed.length === 0) {
    // Not due. The message carrying the retry may arrive early (e.g. the queue redelivers a batch whose
    // invocation failed): keep it until the due time. Any other copy is a duplicate.
    const dueInMs = (delivery.nextAttemptAt?.getTime() ?? 0) - now.getTime();
    return delivery.queueMessageId === messageId && dueInMs > 0 ? { action: "retry", delaySeconds: Math.ceil(dueInMs / 1000) } : ACK;
  }
  const attempt = claimed[0].attempts;

  const result = await postEvent(fetchFn, webhook.url, await openSecret(env, webhook.sealedSecret), event, now);
  const outcome = { responseStatus: result.responseStatus, lastError: result.error };

  if (result.ok) {
    await db.batch([
      db
        .update(webhookDeliveries)
        .set({ ...outcome, status: "delivered", nextAttemptAt: null })
        .where(eq(webhookDeliveries.id, deliveryId)),
      db.update(webhooks).set({ failingSince: null }).where(eq(webhooks.id, webhook.id)),
    ]);
    return ACK;
  }

  if (result.responseStatus === 410) {
    await db
      .update(webhookDeliveries)
      .set({ ...outcome, status: "failed", nextAttemptAt: null })
      .where(eq(webhookDeliveries.id, deliveryId));
    await disableWebhook(db, webhook, now, "the receiver answered 410 Gone.");
    return ACK;
  }

  const exhausted = attempt >= MAX_ATTEMPTS;
  const delaySeconds = exhausted ? 0 : retryDelaySeconds(attempt, result.retryAfterSeconds, Math.random, firstRetrySeconds(env));
  const [, [failing]] = await db.batch([
    db
      .update(webhookDeliveries)
      // Exhausted: due at once, so whichever message sees it next (or the sweep) dead-letters it.
      .set({ ...outcome, nextAttemptAt: new Date(now.getTime() + delaySeconds * 1000), enqueuedAt: now })
      .where(eq(webhookDeliveries.id, deliveryId)),
    db
      .update(webhooks)
      .set({ failingSince: sql`coalesce(${webhooks.failingSince}, ${now.getTime()})` })
      .where(eq(webhooks.id, webhook.id))
      .returning({ failingSince: webhooks.failingSince }),
  ]);
  if (failing?.failingSince && now.getTime() - failing.failingSince.getTime() >= DISABLE_AFTER_FAILING_MS) {
    await disableWebhook(db, webhook, now, "its deliveries have failed for 5 days.");
  }
  return exhausted ? { action: "dead-letter" } : { action: "retry", delaySeconds };
}

function isDeliveryMessage(body: unknown): body is DeliveryMessage {
  return typeof body === "object" && body !== null && typeof (body as DeliveryMessage).deliveryId === "string";
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Consumer of `datasync-webhooks`. Every message is acked or retried explicitly and the handler never
 * throws (a throw would retry the whole batch, repeating deliveries that succeeded).
 */
export async function consumeWebhookDeliveries(batch: MessageBatch<unknown>, env: Env, fetchFn: FetchFunction = (url, init) => fetch(url, init)) {
  const db = createDb(env.DB);
  await Promise.all(
    batch.messages.map(async (message) => {
      if (!isDeliveryMessage(message.body)) {
        console.error("Dropping a webhook queue message without a deliveryId.");
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
        console.error(`Webhook delivery ${message.body.deliveryId} could not be processed: ${errorText(err)}`);
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
        console.error(`Dead-lettered webhook delivery ${message.body.deliveryId} could not be marked failed: ${errorText(err)}`);
        message.retry();
      }
    }),
  );
}
