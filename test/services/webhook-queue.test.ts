import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { webhookDeliveries } from "../../src/db/schema";
import { clock, setClock } from "../../src/lib/clock";
import { publishEvents } from "../../src/services/event";
import { PUBLISH_GRACE_MS, STALLED_AFTER_MS, sweepWebhookDeliveries } from "../../src/services/webhook-queue";
import { db } from "../helpers";
import { deliveryRow, recordEvent, subscriberWithWebhook } from "../support/webhook";

afterEach(() => setClock(null));

/** A queue binding that is down: every send fails. */
const queueDown = { ...env, WEBHOOK_QUEUE: { send: () => Promise.reject(new Error("queue unavailable")), sendBatch: () => Promise.reject(new Error("queue unavailable")) } } as unknown as Env;

function freezeClock(ms: number) {
  setClock(() => ms);
}

describe("getting deliveries into the queue", () => {
  it("publishEvents enqueues an event's deliveries right after its batch", async () => {
    const { subscriberId } = await subscriberWithWebhook({ url: "http://127.0.0.1:9/hook" });
    const { eventId, deliveries } = await recordEvent(subscriberId, "backup.failure");
    expect(deliveries[0].enqueuedAt).toBeNull();
    await publishEvents(env, [eventId]);
    expect((await deliveryRow(deliveries[0].id)).enqueuedAt).not.toBeNull();
  });

  it("a failed publish throws nothing; the sweep enqueues the delivery once the grace has passed", async () => {
    const start = clock.nowMs();
    freezeClock(start);
    const { subscriberId } = await subscriberWithWebhook({ url: "http://127.0.0.1:9/hook" });
    const { eventId, deliveries } = await recordEvent(subscriberId, "backup.failure");
    await expect(publishEvents(queueDown, [eventId])).resolves.toBeUndefined();
    expect((await deliveryRow(deliveries[0].id)).enqueuedAt).toBeNull();

    expect(await sweepWebhookDeliveries(env, db(), new Date(start + PUBLISH_GRACE_MS - 1000))).toBe(0);
    const sweptAt = new Date(start + PUBLISH_GRACE_MS);
    freezeClock(sweptAt.getTime());
    expect(await sweepWebhookDeliveries(env, db(), sweptAt)).toBeGreaterThanOrEqual(1);
    expect((await deliveryRow(deliveries[0].id)).enqueuedAt?.getTime()).toBe(sweptAt.getTime());
    // Enqueued: the next sweeps leave it to the queue.
    expect(await sweepWebhookDeliveries(env, db(), new Date(sweptAt.getTime() + 60_000))).toBe(0);
  });

  it("re-enqueues a delivery whose message was lost, and leaves retries that are not due yet", async () => {
    const { subscriberId } = await subscriberWithWebhook({ url: "http://127.0.0.1:9/hook" });
    const now = clock.nowMs();
    const lost = (await recordEvent(subscriberId, "backup.success")).deliveries[0];
    const waiting = (await recordEvent(subscriberId, "backup.success")).deliveries[0];
    const longAgo = new Date(now - STALLED_AFTER_MS - 1000);
    await db().update(webhookDeliveries).set({ attempts: 2, nextAttemptAt: longAgo, enqueuedAt: longAgo }).where(eq(webhookDeliveries.id, lost.id));
    await db()
      .update(webhookDeliveries)
      .set({ attempts: 2, nextAttemptAt: new Date(now + 3600_000), enqueuedAt: new Date(now - 3600_000) })
      .where(eq(webhookDeliveries.id, waiting.id));

    expect(await sweepWebhookDeliveries(env, db(), new Date(now))).toBe(1);
    expect((await deliveryRow(lost.id)).enqueuedAt?.getTime()).toBe(now);
    expect((await deliveryRow(waiting.id)).enqueuedAt?.getTime()).toBe(now - 3600_000);
  });
});
