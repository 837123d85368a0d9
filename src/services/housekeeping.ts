import { and, eq, inArray, lt, notExists, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { purgeInChunks } from "../db/purge";
import { agentRegistrationTokens, emailTokens, events, missedScheduleReports, webhookDeliveries } from "../db/schema";

/**
 * Purges by age of the tables that would otherwise grow without bound, run daily by the scheduled
 * handler (logs and the outbox have theirs next to them: services/log.ts, services/email.ts). Each is a
 * bounded `purgeInChunks` through an index on the age column.
 */

const DAY_MS = 24 * 60 * 60_000;

export const RETENTION_MS = {
  /** Delivered or failed webhook deliveries: the receiver's history a customer can look back on. */
  finishedDeliveries: 30 * DAY_MS,
  /** Events, once no delivery of theirs is still pending. */
  events: 90 * DAY_MS,
  /**
   * Email and agent registration tokens after they expire (a used token is also past use then): a day's
   * margin so no purge races a token checked just before its expiry.
   */
  expiredTokens: 1 * DAY_MS,
  /** Missed-schedule reports: the sweep looks back 6 hours; a week is ample to keep each time reported once. */
  missedScheduleReports: 7 * DAY_MS,
} as const;

const before = (now: Date, ms: number) => new Date(now.getTime() - ms);

export function purgeFinishedDeliveries(db: Db, now: Date): Promise<number> {
  return purgeInChunks(
    db,
    webhookDeliveries,
    webhookDeliveries.id,
    and(inArray(webhookDeliveries.status, ["delivered", "failed"]), lt(webhookDeliveries.createdAt, before(now, RETENTION_MS.finishedDeliveries))),
  );
}

/** Old events with no pending delivery (their finished deliveries go with them, by the foreign key). */
export function purgeOldEvents(db: Db, now: Date): Promise<number> {
  const pending = db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.eventId, events.id), eq(webhookDeliveries.status, "pending")));
  return purgeInChunks(db, events, events.id, and(lt(events.createdAt, before(now, RETENTION_MS.events)), notExists(pending)));
}

export async function purgeExpiredTokens(db: Db, now: Date): Promise<number> {
  const cutoff = before(now, RETENTION_MS.expiredTokens);
  const email = await purgeInChunks(db, emailTokens, emailTokens.id, lt(emailTokens.expiresAt, cutoff));
  const registration = await purgeInChunks(db, agentRegistrationTokens, agentRegistrationTokens.id, lt(agentRegistrationTokens.expiresAt, cutoff));
  return email + registration;
}

export function purgeMissedScheduleReports(db: Db, now: Date): Promise<number> {
  return purgeInChunks(
    db,
    missedScheduleReports,
    sql`rowid`, // its key is (job, time): rowid names one row
    lt(missedScheduleReports.scheduledFor, before(now, RETENTION_MS.missedScheduleReports)),
  );
}
