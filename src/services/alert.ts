import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { alertThrottles, events } from "../db/schema";
import type { AlertKind } from "../domain/notification";
import { type AlertContext, batchedAlert, immediateAlert, sendAlertEmail } from "./alert-email";

/**
 * Email alerts are throttled per subject (a backup job or an agent) and kind: the first occurrence is
 * emailed at once; the next ones within the hour wait for one batched email an hour after the last one
 * (sent by the scheduled sweep); a success resets the job's throttle, so its next failure is emailed at once.
 */
export const ALERT_BATCH_INTERVAL_MS = 60 * 60_000;
/** The batched email lists this many occurrences and counts the rest. */
const PENDING_LINES_KEPT = 20;
/** Attempts at a compare-and-set before giving up on a busy throttle row (the message is then retried). */
const CAS_ATTEMPTS = 5;

export interface Occurrence {
  subscriberId: string;
  subjectId: string;
  subjectName: string;
  kind: AlertKind;
  at: Date;
  /** One line saying what happened, for the email. */
  line: string;
  /** Alert at most once per `at` (an agent's disconnection, which the sweep may see several times). */
  oncePerInstant?: boolean;
}

type ThrottleRow = typeof alertThrottles.$inferSelect;

const throttleOf = (db: Db, subjectId: string, kind: AlertKind) =>
  db
    .select()
    .from(alertThrottles)
    .where(and(eq(alertThrottles.subjectId, subjectId), eq(alertThrottles.kind, kind)))
    .then((rows) => rows[0] as ThrottleRow | undefined);

/** A compare-and-set on the row's version: true when this caller's change won. */
async function updateIfUnchanged(db: Db, row: ThrottleRow, set: Partial<ThrottleRow>): Promise<boolean> {
  const result = await db
    .update(alertThrottles)
    .set({ ...set, version: row.version + 1 })
    .where(and(eq(alertThrottles.subjectId, row.subjectId), eq(alertThrottles.kind, row.kind), eq(alertThrottles.version, row.version)));
  return result.meta.changes === 1;
}

/** Decides, atomically, whether an occurrence is emailed now (and with which earlier ones) or waits for the batch. */
async function throttle(db: Db, o: Occurrence): Promise<{ send: false } | { send: true; earlier: { lines: string[]; count: number } }> {
  for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
    const row = await throttleOf(db, o.subjectId, o.kind);
    if (!row) {
      const inserted = await db
        .insert(alertThrottles)
        .values({ subjectId: o.subjectId, kind: o.kind, subscriberId: o.subscriberId, subjectName: o.subjectName, lastSentAt: o.at, lastOccurredAt: o.at, pending: [] })
        .onConflictDoNothing();
      if (inserted.meta.changes === 1) return { send: true, earlier: { lines: [], count: 0 } };
      continue;
    }
    if (o.oncePerInstant && row.lastOccurredAt.getTime() >= o.at.getTime()) return { send: false };
    const common = { subjectName: o.subjectName, lastOccurredAt: o.at };
    if (row.lastSentAt === null || o.at.getTime() >= row.lastSentAt.getTime() + ALERT_BATCH_INTERVAL_MS) {
      const won = await updateIfUnchanged(db, row, { ...common, lastSentAt: o.at, pending: [], pendingCount: 0, flushAt: null });
      if (won) return { send: true, earlier: { lines: row.pending, count: row.pendingCount } };
      continue;
    }
    const pending = row.pending.length < PENDING_LINES_KEPT ? [...row.pending, o.line] : row.pending;
    const flushAt = new Date(row.lastSentAt.getTime() + ALERT_BATCH_INTERVAL_MS);
    if (await updateIfUnchanged(db, row, { ...common, pending, pendingCount: row.pendingCount + 1, flushAt })) return { send: false };
  }
  throw new Error(`alert throttle ${o.kind}/${o.subjectId} stayed busy`);
}

/** Emails an occurrence now, or adds it to the subject's hourly batch. */
export async function raiseAlert(ctx: AlertContext, o: Occurrence): Promise<void> {
  const decision = await throttle(ctx.db, o);
  if (decision.send) await sendAlertEmail(ctx, o.subscriberId, o.kind, immediateAlert(o.kind, o.subjectName, o.line, decision.earlier));
}

/** Sends the batched email of a subject whose batch is due; nothing if another sweep or an occurrence took it. */
export async function flushAlertBatch(ctx: AlertContext, subjectId: string, kind: AlertKind): Promise<void> {
  const { db, now } = ctx;
  for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
    const row = await throttleOf(db, subjectId, kind);
    if (!row || row.pendingCount === 0 || !row.flushAt || row.flushAt.getTime() > now.getTime()) return;
    if (await updateIfUnchanged(db, row, { lastSentAt: now, pending: [], pendingCount: 0, flushAt: null })) {
      await sendAlertEmail(ctx, row.subscriberId, kind, batchedAlert(kind, row.subjectName, { lines: row.pending, count: row.pendingCount }));
      return;
    }
  }
}

/** A success resets the job's throttle of this kind: its next occurrence is emailed at once (a waiting batch still goes). */
async function resetAlertThrottle(db: Db, subjectId: string, kind: AlertKind): Promise<void> {
  await db
    .update(alertThrottles)
    .set({ lastSentAt: null, version: sql`${alertThrottles.version} + 1` })
    .where(and(eq(alertThrottles.subjectId, subjectId), eq(alertThrottles.kind, kind)));
}

const text = (value: unknown) => (value === null || value === undefined ? "unknown" : String(value));

/**
 * The alerts of recorded events, in their order: a failure and an anomaly raise one; a success resets
 * the job's failure throttle, and its anomaly throttle unless the same report found an anomaly.
 */
export async function alertOnEvents(ctx: AlertContext, eventIds: string[]): Promise<void> {
  const { db } = ctx;
  if (eventIds.length === 0) return;
  const rows = await db.select().from(events).where(inArray(events.id, eventIds)).orderBy(events.createdAt);
  const anomalousJobs = new Set(rows.filter((e) => e.type === "backup.anomaly").map((e) => String(e.data.backupJobId)));
  for (const event of rows) {
    const data = event.data;
    const job = { subscriberId: event.subscriberId, subjectId: String(data.backupJobId), subjectName: text(data.name), at: event.createdAt };
    const when = event.createdAt.toISOString();
    if (event.type === "backup.failure") {
      await raiseAlert(ctx, { ...job, kind: "backupFailure", line: `${when}: backup job "${job.subjectName}" failed (${text(data.backupMode)}): ${text(data.error)}` });
    } else if (event.type === "backup.anomaly") {
      const line = `${when}: backup job "${job.subjectName}": ${text(data.kind)} anomaly, expected ${text(data.expected)}, actual ${text(data.actual)}`;
      await raiseAlert(ctx, { ...job, kind: "anomaly", line });
    } else if (event.type === "backup.success") {
      await resetAlertThrottle(db, job.subjectId, "backupFailure");
      if (!anomalousJobs.has(job.subjectId)) await resetAlertThrottle(db, job.subjectId, "anomaly");
    }
  }
}
