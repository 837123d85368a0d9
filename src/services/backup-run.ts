import { and, asc, count, desc, eq, isNull, lt, lte, or } from "drizzle-orm";
import { type Db, createDb } from "../db/client";
import { backupJobs, backupRuns } from "../db/schema";
import { notFound } from "../lib/errors";
import { recordMetric } from "../lib/metrics";
import { type Pagination, pageOffset } from "../lib/pagination";
import { eventInsert, publishEvents } from "./event";
import { platformLogInsert } from "./log";
import type { ServiceContext, TenantScope } from "./context";

export type BackupRunRow = typeof backupRuns.$inferSelect;

/** The two queries of a history page (exported so tests can check their plans read an index only). */
export function runListQueries({ db, subscriberId }: Pick<ServiceContext, "db" | "subscriberId">, jobId: string, page: Pagination) {
  const where = and(eq(backupRuns.subscriberId, subscriberId), eq(backupRuns.backupJobId, jobId));
  return {
    rows: db.select().from(backupRuns).where(where).orderBy(desc(backupRuns.createdAt), desc(backupRuns.id)).limit(page.pageSize).offset(pageOffset(page)),
    total: db.select({ total: count() }).from(backupRuns).where(where),
  };
}

/**
 * A job's runs, newest first. The history outlives a deleted job: a job id is known (not 404) while the
 * job or any of its runs exists. Both queries read the (subscriber, job, created) index only.
 */
export async function listRuns(ctx: ServiceContext, jobId: string, page: Pagination) {
  const queries = runListQueries(ctx, jobId, page);
  // One batch: one call to D1 (and to one replica) instead of three.
  const [rows, [{ total }], [job]] = await ctx.db.batch([
    queries.rows,
    queries.total,
    ctx.db.select({ id: backupJobs.id }).from(backupJobs).where(and(eq(backupJobs.id, jobId), eq(backupJobs.subscriberId, ctx.subscriberId))).limit(1),
  ]);
  if (!job && total === 0) throw notFound("Backup job not found.");
  return { rows, total };
}

/**
 * Sets the job's `lastStatus`/`lastRunUtc` from a run that just ended, unless a run that started later
 * has already ended (a triggered run failed by the timeout must not hide a newer success).
 */
export function recordLastRun(db: Db, jobId: string, status: "Success" | "Failed", runStartedUtc: Date) {
  return db
    .update(backupJobs)
    .set({ lastStatus: status, lastRunUtc: runStartedUtc })
    .where(and(eq(backupJobs.id, jobId), or(isNull(backupJobs.lastRunUtc), lte(backupJobs.lastRunUtc, runStartedUtc))));
}

export const TRIGGER_START_TIMEOUT_MS = 15 * 60 * 1000;
const START_TIMEOUT_ERROR = "The agent did not start the backup within 15 minutes of the trigger.";
const SWEEP_BATCH = 100;

/**
 * Scheduled task: a triggered run that no agent has started 15 minutes after the trigger becomes
 * Failed, with its `backup.failure` event and log entry in the same batch. The status condition in
 * the UPDATE keeps a run the agent started in the meantime from being overwritten.
 */
export async function failStaleTriggeredRuns(env: Env, now: Date): Promise<number> {
  const db = createDb(env.DB);
  const cutoff = new Date(now.getTime() - TRIGGER_START_TIMEOUT_MS);
  const stale = await db
    .select({ run: backupRuns, jobName: backupJobs.name })
    .from(backupRuns)
    .leftJoin(backupJobs, eq(backupJobs.id, backupRuns.backupJobId))
    .where(and(eq(backupRuns.status, "Queued"), lt(backupRuns.createdAt, cutoff)))
    .orderBy(asc(backupRuns.createdAt))
    .limit(SWEEP_BATCH);
  for (const { run, jobName } of stale) {
    const ctx = { db, subscriberId: run.subscriberId, now };
    const failure = failRunQueries(ctx, run, jobName ?? run.backupJobId, { finishedUtc: now, error: START_TIMEOUT_ERROR });
    await db.batch(failure.queries);
    recordMetric(env, { event: "backup_run", outcome: "Failed", backupMode: run.backupMode, reason: "start_timeout" });
    await publishEvents(env, [failure.eventId]);
  }
  return stale.length;
}

/**
 * The writes that end a run as Failed: the run, the job's last status, the `backup.failure` event and an
 * Error log entry, for one batch; publish `eventId` once it commits. Only a run still in the status it
 * was read in changes (idempotent by `backupRunId`).
 */
export function failRunQueries(ctx: TenantScope, run: BackupRunRow, jobName: string, outcome: { finishedUtc: Date; error: string }) {
  const { db } = ctx;
  const durationMs = run.startedUtc ? Math.max(0, outcome.finishedUtc.getTime() - run.startedUtc.getTime()) : null;
  const event = eventInsert(ctx, "backup.failure", {
    backupJobId: run.backupJobId,
    backupRunId: run.id,
    name: jobName,
    backupMode: run.backupMode,
    error: outcome.error,
  });
  const queries = [
    db
      .update(backupRuns)
      .set({ status: "Failed", finishedUtc: outcome.finishedUtc, durationMs, error: outcome.error })
      .where(and(eq(backupRuns.id, run.id), eq(backupRuns.status, run.status))),
    recordLastRun(db, run.backupJobId, "Failed", run.startedUtc ?? run.createdAt),
    ...event.queries,
    platformLogInsert(ctx, {
      severity: "Error",
      message: `Backup of "${jobName}" (${run.backupMode}) failed: ${outcome.error}`,
      agentId: run.agentId,
      backupJobId: run.backupJobId,
    }),
  ] as const;
  return { eventId: event.id, queries };
}
