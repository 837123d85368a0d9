import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { vi } from "vitest";
import { type EventType, webhookDeliveries } from "../../src/db/schema";
import { clock } from "../../src/lib/clock";
import { eventInsert } from "../../src/services/event";
import { consumeDeadLetters, consumeWebhookDeliveries } from "../../src/services/webhook-consumers";
import { WEBHOOK_DEAD_LETTER_QUEUE_NAME, WEBHOOK_QUEUE_NAME } from "../../src/services/webhook-queue";
import { api, createSubscriber, db } from "../helpers";

/** A Professional subscriber with one webhook created through the API; `secret` is the one the API returned. */
export async function subscriberWithWebhook(opts: { url?: string; events?: string[] } = {}) {
  const subscriber = await createSubscriber({ plan: "Professional" });
  const res = await api("/api/webhook", {
    token: subscriber.token,
    json: { url: opts.url ?? "https://receiver.example.com/hook", events: opts.events ?? ["backup.success", "backup.failure"] },
  });
  if (res.status !== 200) throw new Error(`webhook create failed: ${res.status} ${await res.text()}`);
  const webhook = await res.json<{ webhookId: string; secret: string; url: string }>();
  return { ...subscriber, webhook };
}

/**
 * Records an event the way services do (event + deliveries in one batch) but without publishing it, so
 * the test drives the consumer by hand and the Worker's own queue consumer never sees it.
 */
export async function recordEvent(subscriberId: string, type: EventType, data: Record<string, unknown> = { backupJobId: "job-1" }) {
  const event = eventInsert({ db: db(), subscriberId, now: clock.now() }, type, data);
  await db().batch([...event.queries]);
  const deliveries = await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, event.id));
  return { eventId: event.id, deliveries };
}

export async function deliveryRow(deliveryId: string) {
  const [row] = await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId));
  return row;
}

/** A receiver standing in for a customer's endpoint: records every request and answers from a script. */
export function receiver(answer: (request: Request, n: number) => Response | Promise<Response> = () => new Response("ok")) {
  const requests: { request: Request; body: string; init: RequestInit; status?: number }[] = [];
  const fetchFn = async (url: string, init: RequestInit) => {
    const request = new Request(url, init);
    const received = { request, body: await request.clone().text(), init, status: undefined as number | undefined };
    requests.push(received);
    const response = await answer(request, requests.length);
    received.status = response.status;
    return response;
  };
  return { fetchFn, requests };
}

/** Verifies a received request with the independent `standardwebhooks` package; returns the parsed payload. */
export function verifyWithStandardWebhooks(secret: string, received: { request: Request; body: string }) {
  const headers = Object.fromEntries(received.request.headers);
  return new Webhook(secret).verify(received.body, headers) as { type: string; timestamp: string; data: Record<string, unknown> };
}

let messageCounter = 0;

/**
 * Runs the webhook consumer on one MessageBatch and returns what it did with each message. getQueueResult
 * does not report `delaySeconds`, so the retry calls are observed to read it (`retryDelays`, by message).
 */
export async function runConsumer(
  deliveryIds: string[],
  fetchFn: Parameters<typeof consumeWebhookDeliveries>[2],
  { workerEnv = env, messageIds }: { workerEnv?: Env; messageIds?: string[] } = {},
) {
  const batch = createMessageBatch(
    WEBHOOK_QUEUE_NAME,
    deliveryIds.map((deliveryId, i) => ({ id: messageIds?.[i] ?? `msg-${++messageCounter}`, timestamp: clock.now(), attempts: 1, body: { deliveryId } })),
  );
  const retryDelays: (number | undefined)[] = [];
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    vi.spyOn(message, "retry").mockImplementation((options) => {
      retryDelays.push(options?.delaySeconds);
      retry(options);
    });
  }
  const ctx = createExecutionContext();
  await consumeWebhookDeliveries(batch, workerEnv, fetchFn);
  return { ...(await getQueueResult(batch, ctx)), retryDelays };
}

export async function runDeadLetterConsumer(deliveryIds: string[]) {
  const batch = createMessageBatch(
    WEBHOOK_DEAD_LETTER_QUEUE_NAME,
    deliveryIds.map((deliveryId) => ({ id: `dlq-${++messageCounter}`, timestamp: clock.now(), attempts: 1, body: { deliveryId } })),
  );
  const ctx = createExecutionContext();
  await consumeDeadLetters(batch, env);
  return getQueueResult(batch, ctx);
}
