import { and, eq, inArray, lt, notExists, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { purgeInChunks } from "../db/purge";
import {
  agentRegistrationTokens,
  alertThrottles,
  backupFiles,
  backupRuns,
  browserSessions,
  emailTokens,
  events,
  missedScheduleReports,
  restores,
  revokedAgentTokens,
  verifications,
  webhookDeliveries,
} from "../db/schema";
import { FINISHED_RUN_STATUSES } from "../domain/backup";
import { FINISHED_RESTORE_STATUSES } from "../domain/restore";

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
  /** Browser sessions after they expire (a logged-out one is refused by `endedAt` until then). */
  expiredBrowserSessions: 1 * DAY_MS,
  /**
   * A deleted agent's token marker: an agent offline longer than this learns of its deletion as a plain
   * 401 (its token is unknown) instead of `agent_revoked`.
   */
  revokedAgentTokens: 180 * DAY_MS,
  /** Inventory rows of files the agent removed (retention): the restore page no longer offers them. */
  deletedBackupFiles: 90 * DAY_MS,
  /**
   * Finished runs, restores and drills: 13 months of history, so a year can be compared with the last. A
   * run that still has an Available file stays as long as the file does.
   */
  history: 400 * DAY_MS,
  /** Alert throttles with nothing pending and no occurrence for this long (the next one is emailed at once anyway). */
  idleAlertThrottles: 90 * DAY_MS,
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

export function purgeExpiredBrowserSessions(db: Db, now: Date): Promise<number> {
  return purgeInChunks(db, browserSessions, browserSessions.id, lt(browserSessions.expiresAt, before(now, RETENTION_MS.expiredBrowserSessions)));
}

export function purgeRevokedAgentTokens(db: Db, now: Date): Promise<number> {
  return purgeInChunks(db, revokedAgentTokens, revokedAgentTokens.tokenHash, lt(revokedAgentTokens.revokedAt, before(now, RETENTION_MS.revokedAgentTokens)));
}

/**
 * Files the agent removed 90 days ago. No Available file depends on one: retention never removes a file
 * that a retained Differential or TransactionLog still builds on.
 */
export function purgeDeletedBackupFiles(db: Db, now: Date): Promise<number> {
  return purgeInChunks(
    db,
    backupFiles,
    backupFiles.id,
    and(eq(backupFiles.status, "Deleted"), lt(backupFiles.deletedUtc, before(now, RETENTION_MS.deletedBackupFiles))),
  );
}

/** Finished runs, restores and drills older than the history window; a run whose file is still Available stays. */
export async function purgeOldHistory(db: Db, now: Date): Promise<number> {
  const cutoff = before(now, RETENTION_MS.history);
  const availableFile = db
    .select({ id: backupFiles.id })
    .from(backupFiles)
    .where(and(eq(backupFiles.backupRunId, backupRuns.id), eq(backupFiles.status, "Available")));
  const runs = await purgeInChunks(
    db,
    backupRuns,
    backupRuns.id,
    and(inArray(backupRuns.status, FINISHED_RUN_STATUSES), lt(backupRuns.createdAt, cutoff), notExists(availableFile)),
  );
  const restoreRows = await purgeInChunks(db, restores, restores.id, and(inArray(restores.status, FINISHED_RESTORE_STATUSES), lt(restores.createdAt, cutoff)));
  const drills = await purgeInChunks(
    db,
    verifications,
    verifications.id,
    and(inArray(verifications.status, FINISHED_RESTORE_STATUSES), lt(verifications.createdAt, cutoff)),
  );
  return runs + restoreRows + drills;
}

export function purgeIdleAlertThrottles(db: Db, now: Date): Promise<number> {
  return purgeInChunks(
    db,
    alertThrottles,
    sql`rowid`, // its key is (subject, kind): rowid names one row
    and(lt(alertThrottles.lastOccurredAt, before(now, RETENTION_MS.idleAlertThrottles)), eq(alertThrottles.pendingCount, 0)),
  );
}
