import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { expect } from "vitest";
import { alertThrottles } from "../../src/db/schema";
import type { AlertKind } from "../../src/domain/notification";
import type { AlertMessage } from "../../src/services/alert-queue";
import { db } from "../helpers";
import { emailsTo, type OutboxEmail } from "./auth";

/** Waits (real time) until `check` passes: the Worker's own queue consumer works in the background. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The alert emails to an address, oldest first, once there are exactly `count` of them. */
export async function alertEmails(address: string, count: number): Promise<OutboxEmail[]> {
  return eventually(async () => {
    const emails = (await emailsTo(address)).reverse();
    expect(emails).toHaveLength(count);
    return emails;
  });
}

export async function throttleRow(subjectId: string, kind: AlertKind) {
  const [row] = await db()
    .select()
    .from(alertThrottles)
    .where(and(eq(alertThrottles.subjectId, subjectId), eq(alertThrottles.kind, kind)));
  return row;
}

/**
 * The env of a producer whose alert queue records what it is sent before passing it on to the real
 * queue: the test sees which messages a sweep produced, and the Worker's consumer still gets them.
 */
export function recordingAlertQueue() {
  const sent: AlertMessage[] = [];
  const queue = {
    send: async (body: AlertMessage, options?: QueueSendOptions) => {
      sent.push(body);
      await env.ALERT_QUEUE.send(body, options);
    },
    sendBatch: async (messages: Iterable<MessageSendRequest<AlertMessage>>, options?: QueueSendBatchOptions) => {
      const list = [...messages];
      sent.push(...list.map((m) => m.body));
      await env.ALERT_QUEUE.sendBatch(list, options);
    },
  };
  return { env: { ...env, ALERT_QUEUE: queue } as unknown as Env, sent };
}

/** The one-click unsubscribe link of an alert email. */
export function unsubscribeLink(email: OutboxEmail): string {
  const match = email.text.match(/(http\S+\/api\/account\/notifications\/unsubscribe\?token=[A-Za-z0-9._-]+)/);
  if (!match) throw new Error(`no unsubscribe link in: ${email.text}`);
  return match[1];
}
