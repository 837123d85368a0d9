import { and, eq, gte, inArray, isNotNull, isNull, lte, or, sql } from "drizzle-orm";
import { createDb, type Db } from "../db/client";
import { agents, alertBacklog, alertThrottles, backupJobs } from "../db/schema";
import type { AlertKind } from "../domain/notification";
import { clock } from "../lib/clock";
import { errorText, log } from "../lib/log";
import { alertOnEvents, flushAlertBatch, raiseAlert } from "./alert";
import type { AlertContext } from "./alert-email";
import { sendWeeklyReport } from "./weekly-report";

/**
 * Alerts travel on the `datasync-alerts` queue, so emailing never slows the report, sweep or socket
 * that caused it. Producers: `publishEvents` (recorded events), the every-minute sweep (due batches,
 * agents offline 10 minutes) and the weekly trigger (one message per subscriber).
 */
export const ALERT_QUEUE_NAME = "datasync-alerts";

/** An agent counts as offline for an alert after this long without its socket. */
export const AGENT_OFFLINE_ALERT_AFTER_MS = 10 * 60_000;
/** Agents offline longer than this without an alert (e.g. before alerts existed) are not alerted any more. */
const AGENT_OFFLINE_LOOKBACK_MS = 24 * 60 * 60_000;
const SWEEP_BATCH = 100;

export type AlertMessage =
  | { type: "events"; eventIds: string[] }
  | { type: "flush"; subjectId: string; kind: AlertKind }
  | { type: "agentOffline"; subscriberId: string; agentId: string; name: string; since: number }
  | { type: "weeklyReport"; subscriberId: string; until: number };

const asMessages = (bodies: AlertMessage[]) => bodies.map((body) => ({ body, contentType: "json" as const }));

/**
 * Queues the alerts of events whose batch has committed. Never throws: the event is already recorded.
 * If the queue refuses, the ids wait in `alert_backlog` for the every-minute sweep.
 */
export async function enqueueEventAlerts(env: Env, eventIds: string[]): Promise<void> {
  try {
    await env.ALERT_QUEUE.send({ type: "events", eventIds } satisfies AlertMessage, { contentType: "json" });
  } catch (err) {
    log.error("alert.publish.failed", { events: eventIds.length, error: errorText(err), note: "the sweep will queue them" });
    await createDb(env.DB)
      .insert(alertBacklog)
      .values({ eventIds, createdAt: clock.now() })
      .catch((backlogErr: unknown) => log.error("alert.backlog.failed", { events: eventIds.length, error: errorText(backlogErr) }));
  }
}

/** Queues the backlog the publish could not, then forgets it. */
async function drainAlertBacklog(env: Env, db: Db): Promise<number> {
  const rows = await db.select().from(alertBacklog).orderBy(alertBacklog.createdAt).limit(SWEEP_BATCH);
  if (rows.length === 0) return 0;
  await env.ALERT_QUEUE.sendBatch(asMessages(rows.map((row) => ({ type: "events" as const, eventIds: row.eventIds }))));
  await db.delete(alertBacklog).where(inArray(alertBacklog.id, rows.map((row) => row.id)));
  return rows.length;
}

/**
 * Every minute: queues what the publish could not, the hourly batches that are due and the agents
 * offline for 10 minutes not yet alerted. Returns how many messages it queued.
 */
export async function sweepAlerts({ db, env, now }: AlertContext): Promise<number> {
  const backlog = await drainAlertBacklog(env, db);
  const due = await db
    .select({ subjectId: alertThrottles.subjectId, kind: alertThrottles.kind })
    .from(alertThrottles)
    .where(lte(alertThrottles.flushAt, now))
    .limit(SWEEP_BATCH);
  const offline = await db
    .select({ subscriberId: agents.subscriberId, agentId: agents.id, hostname: agents.hostname, displayName: agents.displayName, since: agents.lastSeenUtc })
    .from(agents)
    .leftJoin(alertThrottles, and(eq(alertThrottles.subjectId, agents.id), eq(alertThrottles.kind, "agentOffline")))
    .where(
      and(
        eq(agents.isOnline, false),
        isNotNull(agents.lastSeenUtc),
        lte(agents.lastSeenUtc, new Date(now.getTime() - AGENT_OFFLINE_ALERT_AFTER_MS)),
        gte(agents.lastSeenUtc, new Date(now.getTime() - AGENT_OFFLINE_LOOKBACK_MS)),
        or(isNull(alertThrottles.subjectId), sql`${alertThrottles.lastOccurredAt} < ${agents.lastSeenUtc}`),
      ),
    )
    .limit(SWEEP_BATCH);
  const messages: AlertMessage[] = [
    ...due.map(({ subjectId, kind }) => ({ type: "flush" as const, subjectId, kind })),
    ...offline.map((a) => ({ type: "agentOffline" as const, subscriberId: a.subscriberId, agentId: a.agentId, name: a.displayName ?? a.hostname, since: a.since!.getTime() })),
  ];
  if (messages.length > 0) await env.ALERT_QUEUE.sendBatch(asMessages(messages));
  return backlog + messages.length;
}

/** Weekly: one summary message per subscriber that has backup jobs (sendBatch takes 100 at a time). */
export async function enqueueWeeklyReports({ db, env, now }: AlertContext): Promise<number> {
  const subscribers = await db.selectDistinct({ subscriberId: backupJobs.subscriberId }).from(backupJobs);
  for (let i = 0; i < subscribers.length; i += 100) {
    const chunk = subscribers.slice(i, i + 100).map(({ subscriberId }) => ({ type: "weeklyReport" as const, subscriberId, until: now.getTime() }));
    await env.ALERT_QUEUE.sendBatch(asMessages(chunk));
  }
  return subscribers.length;
}

async function handleAlertMessage(ctx: AlertContext, message: AlertMessage): Promise<void> {
  switch (message.type) {
    case "events":
      return alertOnEvents(ctx, message.eventIds);
    case "flush":
      return flushAlertBatch(ctx, message.subjectId, message.kind);
    case "agentOffline": {
      const since = new Date(message.since);
      const line = `Agent "${message.name}" has been offline since ${since.toISOString()} (its last connection ended then).`;
      const agent = { subscriberId: message.subscriberId, subjectId: message.agentId, subjectName: message.name };
      return raiseAlert(ctx, { ...agent, kind: "agentOffline", at: since, line, oncePerInstant: true });
    }
    case "weeklyReport":
      await sendWeeklyReport(ctx, message.subscriberId, new Date(message.until));
      return;
  }
}

function isAlertMessage(body: unknown): body is AlertMessage {
  return typeof body === "object" && body !== null && typeof (body as AlertMessage).type === "string";
}

/** Consumer of `datasync-alerts`: each message on its own, acked when done, retried later when D1 or email failed. */
export async function consumeAlerts(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = createDb(env.DB);
  for (const message of batch.messages) {
    if (!isAlertMessage(message.body)) {
      log.error("alert.queue.malformed", { messageId: message.id });
      message.ack();
      continue;
    }
    try {
      await handleAlertMessage({ db, env, now: clock.now() }, message.body);
      message.ack();
    } catch (err) {
      log.error("alert.unprocessed", { type: message.body.type, error: errorText(err) });
      message.retry({ delaySeconds: 30 });
    }
  }
}
