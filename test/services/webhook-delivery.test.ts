import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { logMessages, webhookDeliveries, webhooks } from "../../src/db/schema";
import { clock, setClock } from "../../src/lib/clock";
import { DISABLE_AFTER_FAILING_MS } from "../../src/services/webhook-delivery";
import { MAX_ATTEMPTS, MAX_QUEUE_DELAY_SECONDS, parseRetryAfter, retryDelaySeconds } from "../../src/services/webhook-retry";
import { api, db } from "../helpers";
import {
  deliveryRow,
  receiver,
  recordEvent,
  runConsumer,
  runDeadLetterConsumer,
  subscriberWithWebhook,
  verifyWithStandardWebhooks,
} from "../support/webhook";

afterEach(() => setClock(null));

/** Moves the platform clock forward (the consumer and D1 rows both follow it). */
function advance(seconds: number) {
  const next = clock.nowMs() + seconds * 1000;
  setClock(() => next);
}

async function webhookRow(webhookId: string) {
  const [row] = await db().select().from(webhooks).where(eq(webhooks.id, webhookId));
  return row;
}

async function platformLog(subscriberId: string) {
  return db()
    .select()
    .from(logMessages)
    .where(and(eq(logMessages.subscriberId, subscriberId), eq(logMessages.source, "platform")));
}

describe("signing (Standard Webhooks)", () => {
  it("POSTs {type, timestamp, data} with webhook-id/-timestamp/-signature that standardwebhooks verifies", async () => {
    const { subscriberId, webhook } = await subscriberWithWebhook();
    const { eventId, deliveries } = await recordEvent(subscriberId, "backup.success", { backupJobId: "job-1", totalSize: 42 });
    expect(deliveries).toHaveLength(1);
    const target = receiver();
    const result = await runConsumer([deliveries[0].id], target.fetchFn);
    expect(result.explicitAcks).toHaveLength(1);
    expect(target.requests).toHaveLength(1);

    const { request, init } = target.requests[0];
    const payload = verifyWithStandardWebhooks(webhook.secret, target.requests[0]);
    expect(payload).toMatchObject({ type: "backup.success", data: { backupJobId: "job-1", totalSize: 42 } });
    expect(payload.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(request.method).toBe("POST");
    expect(request.url).toBe(webhook.url);
    expect(request.headers.get("content-type")).toBe("application/json");
    expect(request.headers.get("webhook-id")).toBe(eventId);
    expect(Number(request.headers.get("webhook-timestamp"))).toBe(Math.floor(clock.nowMs() / 1000));
    expect(request.headers.get("webhook-signature")).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(init.redirect).toBe("manual");
    expect(init.signal).toBeInstanceOf(AbortSignal);

    expect(await deliveryRow(deliveries[0].id)).toMatchObject({ status: "delivered", attempts: 1, responseStatus: 200, nextAttemptAt: null });
  });

  it("is refused by standardwebhooks under another secret", async () => {
    const { subscriberId } = await subscriberWithWebhook();
    const { deliveries } = await recordEvent(subscriberId, "backup.success");
    const target = receiver();
    await runConsumer([deliveries[0].id], target.fetchFn);
    expect(() => verifyWithStandardWebhooks(`whsec_${btoa("another secret of 24 bytes")}`, target.requests[0])).toThrow();
  });
});

describe("fan-out", () => {
  it("creates one delivery per enabled subscribed webhook of the subscriber, in the event's batch", async () => {
    const { token, subscriberId, webhook } = await subscriberWithWebhook({ events: ["backup.failure"] });
    const create = (events: string[]) => api("/api/webhook", { token, json: { url: "https://hooks.example.com/x", events } }).then((r) => r.json<{ webhookId: string }>());
    const anomalyOnly = await create(["backup.anomaly"]);
    const disabled = await create(["backup.failure"]);
    await api(`/api/webhook/${disabled.webhookId}`, { method: "PUT", token, json: { isEnabled: false } });
    const stranger = await subscriberWithWebhook({ events: ["backup.failure"] });

    const { deliveries } = await recordEvent(subscriberId, "backup.failure");
    expect(deliveries.map((d) => d.webhookId)).toEqual([webhook.webhookId]);
    expect(deliveries[0]).toMatchObject({ subscriberId, status: "pending", attempts: 0, eventType: "backup.failure", enqueuedAt: null });
    expect(deliveries.some((d) => d.webhookId === anomalyOnly.webhookId || d.webhookId === stranger.webhook.webhookId)).toBe(false);
  });

  it("stops once the subscriber's plan no longer includes webhooks", async () => {
    const { subscriberId } = await subscriberWithWebhook();
    await env.DB.prepare("UPDATE subscribers SET plan = 'Starter' WHERE id = ?").bind(subscriberId).run();
    expect((await recordEvent(subscriberId, "backup.success")).deliveries).toHaveLength(0);
  });
});

describe("retries", () => {
  it("a receiver failing 3 times then succeeding gets exactly one success and 4 attempts, same webhook-id each time", async () => {
    const { token, subscriberId, webhook } = await subscriberWithWebhook();
    const { eventId, deliveries } = await recordEvent(subscriberId, "backup.success");
    const id = deliveries[0].id;
    const target = receiver((_req, n) => (n <= 3 ? new Response("busy", { status: 503 }) : new Response("ok")));

    for (let attempt = 1; attempt <= 3; attempt++) {
      const result = await runConsumer([id], target.fetchFn);
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages).toHaveLength(1);
      const delay = result.retryDelays[0]!;
      expect(delay).toBeGreaterThanOrEqual(retryDelaySeconds(attempt, null, () => 0));
      expect(delay).toBeLessThanOrEqual(retryDelaySeconds(attempt, null, () => 1));
      const row = await deliveryRow(id);
      expect(row).toMatchObject({ status: "pending", attempts: attempt, responseStatus: 503, lastError: "Receiver answered 503." });
      expect(row.nextAttemptAt!.getTime() - row.lastAttemptAt!.getTime()).toBe(delay * 1000);
      // A message arriving before the retry is due (a duplicate) sends nothing.
      expect((await runConsumer([id], target.fetchFn)).explicitAcks).toHaveLength(1);
      expect(target.requests).toHaveLength(attempt);
      advance(delay);
    }
    const last = await runConsumer([id], target.fetchFn);
    expect(last.explicitAcks).toHaveLength(1);
    setClock(null); // back to the present, where the access token is still valid
    expect(target.requests.map((r) => r.request.headers.get("webhook-id"))).toEqual([eventId, eventId, eventId, eventId]);
    expect(target.requests.map((r) => r.status)).toEqual([503, 503, 503, 200]);

    const listed = await (await api(`/api/webhook/${webhook.webhookId}/deliveries`, { token })).json<Record<string, unknown>[]>();
    expect(listed).toEqual([
      expect.objectContaining({ deliveryId: id, eventId, event: "backup.success", status: "delivered", attempts: 4, responseStatus: 200 }),
    ]);
    expect((await webhookRow(webhook.webhookId)).failingSince).toBeNull();
    // Further copies of the message find it delivered.
    expect((await runConsumer([id], target.fetchFn)).explicitAcks).toHaveLength(1);
    expect(target.requests).toHaveLength(4);
  });

  it("keeps the message carrying a retry when it arrives early, drops other early copies", async () => {
    const { subscriberId } = await subscriberWithWebhook();
    const { deliveries } = await recordEvent(subscriberId, "backup.success");
    const id = deliveries[0].id;
    const target = receiver((_req, n) => (n === 1 ? new Response(null, { status: 500 }) : new Response("ok")));
    const first = await runConsumer([id], target.fetchFn, { messageIds: ["chain"] });
    const delay = first.retryDelays[0]!;
    advance(10);
    // The queue hands the same message back too soon (as after a failed invocation): retried for the rest of the wait.
    const early = await runConsumer([id], target.fetchFn, { messageIds: ["chain"] });
    expect(early.retryDelays).toEqual([delay - 10]);
    const copy = await runConsumer([id], target.fetchFn, { messageIds: ["copy"] });
    expect(copy.explicitAcks).toEqual(["copy"]);
    expect(target.requests).toHaveLength(1);
    advance(delay - 10);
    expect((await runConsumer([id], target.fetchFn, { messageIds: ["chain"] })).explicitAcks).toEqual(["chain"]);
    expect(await deliveryRow(id)).toMatchObject({ status: "delivered", attempts: 2 });
  });

  it("two copies of one message in a batch make one request", async () => {
    const { subscriberId } = await subscriberWithWebhook();
    const { deliveries } = await recordEvent(subscriberId, "backup.success");
    const target = receiver();
    const result = await runConsumer([deliveries[0].id, deliveries[0].id], target.fetchFn);
    expect(result.explicitAcks).toHaveLength(2);
    expect(target.requests).toHaveLength(1);
    expect((await deliveryRow(deliveries[0].id)).attempts).toBe(1);
  });

  it("treats redirects and network errors as failures and does not follow redirects", async () => {
    const { subscriberId } = await subscriberWithWebhook();
    const { deliveries } = await recordEvent(subscriberId, "backup.failure");
    const id = deliveries[0].id;
    const redirecting = receiver(() => new Response(null, { status: 302, headers: { location: "https://elsewhere.example.com/" } }));
    const result = await runConsumer([id], redirecting.fetchFn);
    expect(result.retryMessages).toHaveLength(1);
    expect(redirecting.requests).toHaveLength(1);
    expect(await deliveryRow(id)).toMatchObject({ responseStatus: 302, lastError: expect.stringContaining("redirect") });

    advance(result.retryDelays[0]!);
    const broken = await runConsumer([id], async () => {
      throw new TypeError("connection reset");
    });
    expect(broken.retryMessages).toHaveLength(1);
    expect(await deliveryRow(id)).toMatchObject({ attempts: 2, responseStatus: null, lastError: "Request failed: connection reset" });
  });

  it("waits at least as long as Retry-After asks, never longer than the queue allows", async () => {
    const { subscriberId } = await subscriberWithWebhook();
    const { deliveries } = await recordEvent(subscriberId, "backup.success");
    const result = await runConsumer([deliveries[0].id], receiver(() => new Response(null, { status: 429, headers: { "retry-after": "7200" } })).fetchFn);
    expect(result.retryDelays).toEqual([7200]);
    expect(retryDelaySeconds(1, 10 * 86400)).toBe(MAX_QUEUE_DELAY_SECONDS);
    const now = new Date("2026-11-27T12:00:00Z");
    expect(parseRetryAfter("120", now)).toBe(120);
    expect(parseRetryAfter("Fri, 27 Nov 2026 12:30:00 GMT", now)).toBe(1800);
    expect(parseRetryAfter("soon", now)).toBeNull();
  });

  it("schedules at least 8 attempts over at least 24 hours, each wait within the queue's 12 h limit", () => {
    for (const random of [() => 0, () => 1]) {
      const waits = Array.from({ length: MAX_ATTEMPTS - 1 }, (_, i) => retryDelaySeconds(i + 1, null, random));
      expect(waits.every((w, i) => w <= MAX_QUEUE_DELAY_SECONDS && (i === 0 || w >= waits[i - 1]))).toBe(true);
      expect(waits.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(24 * 3600);
    }
    expect(MAX_ATTEMPTS).toBeGreaterThanOrEqual(8);
  });
});

describe("giving up", () => {
  it("after the last failed attempt the message is dead-lettered and the DLQ consumer marks the delivery failed", async () => {
    const { token, subscriberId, webhook } = await subscriberWithWebhook();
    const { deliveries } = await recordEvent(subscriberId, "backup.success");
    const id = deliveries[0].id;
    const down = receiver(() => new Response("down", { status: 500 }));
    const start = clock.nowMs();
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      const result = await runConsumer([id], down.fetchFn);
      expect(result.retryMessages).toHaveLength(1);
      advance(result.retryDelays[0]!);
    }
    expect(clock.nowMs() - start).toBeGreaterThanOrEqual(24 * 3600_000);
    const last = await runConsumer([id], down.fetchFn);
    expect(last.retryMessages).toEqual([]);
    expect(last.explicitAcks).toHaveLength(1);
    expect(down.requests).toHaveLength(MAX_ATTEMPTS);
    expect((await deliveryRow(id)).attempts).toBe(MAX_ATTEMPTS);
    // A copy arriving now makes no ninth attempt.
    await runConsumer([id], down.fetchFn);
    expect(down.requests).toHaveLength(MAX_ATTEMPTS);

    const dead = await runDeadLetterConsumer([id]);
    expect(dead.explicitAcks).toHaveLength(1);
    expect(await deliveryRow(id)).toMatchObject({ status: "failed", attempts: MAX_ATTEMPTS, responseStatus: 500, nextAttemptAt: null });
    setClock(null); // back to the present, where the access token is still valid
    const listed = await (await api(`/api/webhook/${webhook.webhookId}/deliveries`, { token })).json<{ status: string }[]>();
    expect(listed[0].status).toBe("failed");
  });

  it("a message the queue dead-letters before the last attempt leaves the delivery pending for the sweep", async () => {
    const { subscriberId } = await subscriberWithWebhook();
    const { deliveries } = await recordEvent(subscriberId, "backup.success");
    await runConsumer([deliveries[0].id], receiver(() => new Response(null, { status: 500 })).fetchFn);
    expect((await runDeadLetterConsumer([deliveries[0].id])).explicitAcks).toHaveLength(1);
    expect(await deliveryRow(deliveries[0].id)).toMatchObject({ status: "pending", attempts: 1 });
  });

  it("the Worker's queue handler routes the dead-letter queue to that consumer", async () => {
    const { createExecutionContext, createMessageBatch, getQueueResult } = await import("cloudflare:test");
    const worker = (await import("../../src/index")).default;
    const { subscriberId } = await subscriberWithWebhook();
    const { deliveries } = await recordEvent(subscriberId, "backup.success");
    await db().update(webhookDeliveries).set({ attempts: MAX_ATTEMPTS }).where(eq(webhookDeliveries.id, deliveries[0].id));
    const batch = createMessageBatch("datasync-webhooks-dlq", [{ id: "dlq-wiring", timestamp: new Date(), attempts: 1, body: { deliveryId: deliveries[0].id } }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["dlq-wiring"]);
    expect((await deliveryRow(deliveries[0].id)).status).toBe("failed");
  });

  it("a 410 answer disables the webhook at once, with a platform log entry", async () => {
    const { token, subscriberId, webhook } = await subscriberWithWebhook();
    const first = await recordEvent(subscriberId, "backup.success");
    const second = await recordEvent(subscriberId, "backup.failure");
    const gone = receiver(() => new Response("gone", { status: 410 }));
    const result = await runConsumer([first.deliveries[0].id], gone.fetchFn);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await deliveryRow(first.deliveries[0].id)).toMatchObject({ status: "failed", responseStatus: 410 });
    const listed = await (await api("/api/webhook", { token })).json<{ isEnabled: boolean }[]>();
    expect(listed[0].isEnabled).toBe(false);
    const log = await platformLog(subscriberId);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ severity: "Warning", message: expect.stringContaining("410 Gone") });
    expect(log[0].message).toContain(webhook.webhookId);

    // What was still pending for it is not sent; new events no longer fan out to it.
    await runConsumer([second.deliveries[0].id], gone.fetchFn);
    expect(gone.requests).toHaveLength(1);
    expect(await deliveryRow(second.deliveries[0].id)).toMatchObject({ status: "failed", lastError: "Webhook disabled." });
    expect((await recordEvent(subscriberId, "backup.success")).deliveries).toHaveLength(0);
  });

  it("a webhook whose deliveries fail for 5 days in a row is disabled, once, with a log entry", async () => {
    const { subscriberId, webhook } = await subscriberWithWebhook();
    const down = receiver(() => new Response(null, { status: 502 }));
    const firstFailure = clock.nowMs();
    setClock(() => firstFailure);
    await runConsumer([(await recordEvent(subscriberId, "backup.success")).deliveries[0].id], down.fetchFn);
    expect((await webhookRow(webhook.webhookId)).failingSince?.getTime()).toBe(firstFailure);

    setClock(() => firstFailure + DISABLE_AFTER_FAILING_MS - 60_000);
    await runConsumer([(await recordEvent(subscriberId, "backup.success")).deliveries[0].id], down.fetchFn);
    expect((await webhookRow(webhook.webhookId)).isEnabled).toBe(true);

    setClock(() => firstFailure + DISABLE_AFTER_FAILING_MS);
    const lastEvent = await recordEvent(subscriberId, "backup.success");
    await runConsumer([lastEvent.deliveries[0].id], down.fetchFn);
    expect((await webhookRow(webhook.webhookId)).isEnabled).toBe(false);
    const log = await platformLog(subscriberId);
    expect(log.map((l) => l.message)).toEqual([expect.stringContaining("failed for 5 days")]);
  });

  it("a success resets the failing streak", async () => {
    const { subscriberId, webhook } = await subscriberWithWebhook();
    await runConsumer([(await recordEvent(subscriberId, "backup.success")).deliveries[0].id], receiver(() => new Response(null, { status: 500 })).fetchFn);
    expect((await webhookRow(webhook.webhookId)).failingSince).not.toBeNull();
    await runConsumer([(await recordEvent(subscriberId, "backup.success")).deliveries[0].id], receiver().fetchFn);
    expect((await webhookRow(webhook.webhookId)).failingSince).toBeNull();
  });

  it("checks the URL again before sending: a URL the policy now refuses fails without a request", async () => {
    const { subscriberId } = await subscriberWithWebhook({ url: "http://localhost:9999/hook" });
    const { deliveries } = await recordEvent(subscriberId, "backup.success");
    const target = receiver();
    const result = await runConsumer([deliveries[0].id], target.fetchFn, { workerEnv: { ...env, ALLOW_LOCAL_WEBHOOKS: "false" } });
    expect(result.explicitAcks).toHaveLength(1);
    expect(target.requests).toHaveLength(0);
    expect(await deliveryRow(deliveries[0].id)).toMatchObject({ status: "failed", attempts: 0, lastError: expect.stringContaining("https") });
  });

  it("drops messages for deleted webhooks and malformed messages without throwing", async () => {
    const { token, subscriberId, webhook } = await subscriberWithWebhook();
    const { deliveries } = await recordEvent(subscriberId, "backup.success");
    await api(`/api/webhook/${webhook.webhookId}`, { method: "DELETE", token });
    const target = receiver();
    const result = await runConsumer([deliveries[0].id], target.fetchFn);
    expect(result.explicitAcks).toHaveLength(1);
    expect(target.requests).toHaveLength(0);
    const { createExecutionContext, createMessageBatch, getQueueResult } = await import("cloudflare:test");
    const { consumeWebhookDeliveries } = await import("../../src/services/webhook-consumers");
    const batch = createMessageBatch("datasync-webhooks", [{ id: "junk", timestamp: new Date(), attempts: 1, body: { nothing: true } }]);
    const ctx = createExecutionContext();
    await consumeWebhookDeliveries(batch, env, target.fetchFn);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["junk"]);
  });
});

describe("platform failures", () => {
  it("never throw from the consumer: the message is retried after the attempt's lease", async () => {
    const { subscriberId, webhook } = await subscriberWithWebhook();
    const { deliveries } = await recordEvent(subscriberId, "backup.success");
    // A secret sealed under a key this Worker no longer has: the attempt is claimed, then fails inside the platform.
    await db().update(webhooks).set({ sealedSecret: "v1.000000000000.AAAA.AAAA" }).where(eq(webhooks.id, webhook.webhookId));
    const target = receiver();
    const result = await runConsumer([deliveries[0].id], target.fetchFn);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryDelays).toHaveLength(1);
    expect(result.retryDelays[0]).toBeGreaterThanOrEqual(60);
    expect(target.requests).toHaveLength(0);
    expect(await deliveryRow(deliveries[0].id)).toMatchObject({ status: "pending", attempts: 1 });
  });
});

describe("test events", () => {
  it("get one attempt: a failed test is final, never retried, and does not mark the webhook failing", async () => {
    const { token, webhook } = await subscriberWithWebhook({ url: "http://127.0.0.1:9/never-called" });
    await api(`/api/webhook/${webhook.webhookId}/test`, { method: "POST", token });
    const [delivery] = await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, webhook.webhookId));
    // The Worker's consumer may already have tried the unreachable URL; make the row due again and deliver it here.
    await db().update(webhookDeliveries).set({ status: "pending", attempts: 0, nextAttemptAt: clock.now() }).where(eq(webhookDeliveries.id, delivery.id));
    const target = receiver(() => new Response("nope", { status: 500 }));
    const result = await runConsumer([delivery.id], target.fetchFn);
    expect(target.requests).toHaveLength(1);
    expect(verifyWithStandardWebhooks(webhook.secret, target.requests[0])).toMatchObject({ type: "webhook.test", data: { webhookId: webhook.webhookId } });
    expect(result.retryDelays).toEqual([]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await deliveryRow(delivery.id)).toMatchObject({ status: "failed", attempts: 1, responseStatus: 500, nextAttemptAt: null });
    const [row] = await db().select().from(webhooks).where(eq(webhooks.id, webhook.webhookId));
    expect(row.failingSince).toBeNull();
  });

  it("queued before the webhook was disabled are not sent", async () => {
    const { token, webhook } = await subscriberWithWebhook({ url: "http://127.0.0.1:9/never-called" });
    await api(`/api/webhook/${webhook.webhookId}/test`, { method: "POST", token });
    await api(`/api/webhook/${webhook.webhookId}`, { method: "PUT", token, json: { isEnabled: false } });
    const [delivery] = await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, webhook.webhookId));
    await db().update(webhookDeliveries).set({ status: "pending", attempts: 0, nextAttemptAt: clock.now() }).where(eq(webhookDeliveries.id, delivery.id));
    const target = receiver();
    await runConsumer([delivery.id], target.fetchFn);
    expect(target.requests).toHaveLength(0);
    expect(await deliveryRow(delivery.id)).toMatchObject({ status: "failed", lastError: "Webhook disabled." });
  });
});
