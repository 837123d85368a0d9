import { and, asc, desc, eq, gt, gte, inArray, lte, ne, or } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { type Db, createDb } from "../db/client";
import { type BackupMode, backupJobs, backupRuns, missedScheduleReports } from "../db/schema";
import { isoUtc } from "../lib/time";
import { eventInsert, publishEvents } from "./event";
import { platformLogInsert } from "./log";
import { nextDueAt, scheduledTimes } from "./schedule";
import type { TenantScope } from "./context";

/**
 * `backup.anomaly` events (with a Warning log entry each) for backups that look wrong: a size or a
 * duration far from the job's recent history, or a scheduled time that passed with no run.
 */

/** The successful runs a new one is compared with, of the same backup mode (a differential is not a small full). */
const HISTORY_RUNS = 10;
const MIN_HISTORY_RUNS = 3;
const SIZE_LOW_RATIO = 0.5;
const SIZE_HIGH_RATIO = 2;
const DURATION_HIGH_RATIO = 3;
/** A scheduled time is missed when no run started within this grace. */
export const MISSED_GRACE_MS = 30 * 60_000;
/** Scheduled times older than this are not looked at (after an outage the sweep catches up this far). */
const MISSED_LOOKBACK_MS = 6 * 3600_000;
/** An agent's clock may run a little ahead: a run started this much before its scheduled time still counts. */
const EARLY_START_MS = 60_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface Anomaly {
  backupJobId: string;
  name: string;
  kind: "size" | "duration" | "missing";
  expected: number | string;
  actual: number | null;
  message: string;
  details: Record<string, unknown>;
}

/** The event, its webhook deliveries and the log entry of one anomaly, for a batch. */
function anomalyWrites(ctx: TenantScope, anomaly: Anomaly, agentId: string | null) {
  const { backupJobId, name, kind, expected, actual, details } = anomaly;
  const event = eventInsert(ctx, "backup.anomaly", { backupJobId, name, kind, expected, actual, ...details });
  return {
    eventId: event.id,
    queries: [...event.queries, platformLogInsert(ctx, { severity: "Warning", message: anomaly.message, agentId, backupJobId })],
  };
}

const percent = (actual: number, expected: number) => `${Math.round((actual / expected) * 100)} %`;

/**
 * The size and duration anomalies of a run that just succeeded, compared with the median of the job's
 * last 10 successful runs of the same mode (at least 3). Read before the run is marked Success, so the
 * run is not part of its own history. Returns the writes to put in the batch that records the success
 * and the event ids to publish after it.
 */
export async function completedRunAnomalies(
  ctx: TenantScope,
  run: { backupJobId: string; backupRunId: string; agentId: string; name: string; backupMode: BackupMode; totalSize: number; durationMs: number },
): Promise<{ eventIds: string[]; queries: BatchItem<"sqlite">[] }> {
  const history = await ctx.db
    .select({ totalSize: backupRuns.totalSize, durationMs: backupRuns.durationMs })
    .from(backupRuns)
    .where(
      and(
        eq(backupRuns.subscriberId, ctx.subscriberId),
        eq(backupRuns.backupJobId, run.backupJobId),
        eq(backupRuns.status, "Success"),
        eq(backupRuns.backupMode, run.backupMode),
        ne(backupRuns.id, run.backupRunId),
      ),
    )
    .orderBy(desc(backupRuns.createdAt), desc(backupRuns.id))
    .limit(HISTORY_RUNS);
  const sizes = history.flatMap((h) => (h.totalSize === null ? [] : [h.totalSize]));
  const durations = history.flatMap((h) => (h.durationMs === null ? [] : [h.durationMs]));
  const base = { backupJobId: run.backupJobId, name: run.name };
  const details = { backupRunId: run.backupRunId, backupMode: run.backupMode, historyRuns: history.length };
  const label = `Backup of "${run.name}" (${run.backupMode})`;
  const anomalies: Anomaly[] = [];

  if (sizes.length >= MIN_HISTORY_RUNS) {
    const expected = median(sizes);
    if (run.totalSize < expected * SIZE_LOW_RATIO || run.totalSize > expected * SIZE_HIGH_RATIO) {
      anomalies.push({
        ...base,
        kind: "size",
        expected,
        actual: run.totalSize,
        details,
        message: `${label} size anomaly: ${run.totalSize} bytes is ${percent(run.totalSize, expected)} of the median ${expected} bytes of the last ${sizes.length} successful runs.`,
      });
    }
  }
  if (durations.length >= MIN_HISTORY_RUNS) {
    const expected = median(durations);
    if (expected > 0 && run.durationMs > expected * DURATION_HIGH_RATIO) {
      anomalies.push({
        ...base,
        kind: "duration",
        expected,
        actual: run.durationMs,
        details,
        message: `${label} duration anomaly: ${run.durationMs} ms is ${percent(run.durationMs, expected)} of the median ${expected} ms of the last ${durations.length} successful runs.`,
      });
    }
  }
  const writes = anomalies.map((a) => anomalyWrites(ctx, a, run.agentId));
  return { eventIds: writes.map((w) => w.eventId), queries: writes.flatMap((w) => w.queries) };
}

function isUniqueViolation(err: unknown): boolean {
  return /UNIQUE constraint failed|PRIMARY KEY/i.test(err instanceof Error ? `${err.message} ${String(err.cause ?? "")}` : String(err));
}

/**
 * Jobs read per page of the sweep, and pages per run: a backlog beyond that waits for the next minute.
 * A page's job ids are bound in one `IN (…)` of the history reads, within D1's 100 parameters.
 */
export const SWEEP_PAGE_SIZE = 90;
const SWEEP_MAX_PAGES = 20;

/**
 * The `scheduled` sweep for missed runs: for every enabled job, each scheduled time that passed more
 * than 30 minutes ago with no run started from a minute before it up to the grace (or the next
 * scheduled time, if sooner) becomes one anomaly. The time is remembered in the same batch as the
 * event, so later sweeps (or a concurrent one) never report it again. Returns how many it reported.
 *
 * It reads only jobs whose stored next due time has come (`backup_jobs_due_idx`), in pages, and moves
 * each one's due time past the window it checked: its cost follows the schedules that are due, not
 * the number of jobs.
 */
export async function detectMissedSchedules(env: Env, now: Date): Promise<number> {
  const db = createDb(env.DB);
  const windowEnd = new Date(now.getTime() - MISSED_GRACE_MS);
  const windowStart = new Date(windowEnd.getTime() - MISSED_LOOKBACK_MS);
  let reported = 0;
  let after: { nextDueAt: Date; id: string } | null = null;
  for (let page = 0; page < SWEEP_MAX_PAGES; page++) {
    const jobs = await dueJobsQuery(db, windowEnd, after);
    const due = jobs.flatMap((job) => dueScheduledTimes(job, windowStart, windowEnd));
    for (const [subscriberId, items] of groupBy(due, (d) => d.job.subscriberId)) {
      reported += await reportMissedOfSubscriber(env, db, now, windowStart, subscriberId, items);
    }
    await advanceDueTimes(db, jobs, windowEnd);
    if (jobs.length < SWEEP_PAGE_SIZE) break;
    const last = jobs[jobs.length - 1];
    after = { nextDueAt: last.nextDueAt!, id: last.id };
  }
  return reported;
}

/** One page of enabled jobs due by `windowEnd`, in (next due time, id) order after `after`. Exported for bench:sweeps. */
export function dueJobsQuery(db: Db, windowEnd: Date, after: { nextDueAt: Date; id: string } | null) {
  const keyset = after
    ? or(gt(backupJobs.nextDueAt, after.nextDueAt), and(eq(backupJobs.nextDueAt, after.nextDueAt), gt(backupJobs.id, after.id)))
    : undefined;
  return db
    .select({
      id: backupJobs.id,
      subscriberId: backupJobs.subscriberId,
      agentId: backupJobs.agentId,
      name: backupJobs.name,
      schedules: backupJobs.schedules,
      updatedAt: backupJobs.updatedAt,
      nextDueAt: backupJobs.nextDueAt,
    })
    .from(backupJobs)
    .where(and(eq(backupJobs.isEnabled, true), lte(backupJobs.nextDueAt, windowEnd), keyset))
    .orderBy(asc(backupJobs.nextDueAt), asc(backupJobs.id))
    .limit(SWEEP_PAGE_SIZE);
}

type DueJob = Awaited<ReturnType<typeof dueJobsQuery>>[number];

/** A due job's scheduled times in the window not checked yet, with the end of each one's grace. */
function dueScheduledTimes(job: DueJob, windowStart: Date, windowEnd: Date) {
  // Times before the job's last change are not held against it (it may just have been enabled or
  // rescheduled), nor those an earlier sweep checked (before its next due time).
  const from = new Date(Math.max(windowStart.getTime(), job.updatedAt.getTime(), (job.nextDueAt?.getTime() ?? 0) - 1));
  return job.schedules.flatMap((schedule) =>
    scheduledTimes(schedule.cronExpression, from, windowEnd).map((time) => {
      const following = scheduledTimes(schedule.cronExpression, time, new Date(time.getTime() + MISSED_GRACE_MS))[0];
      return { job, schedule, time, until: following ?? new Date(time.getTime() + MISSED_GRACE_MS) };
    }),
  );
}

/**
 * Moves each checked job's next due time past the window. Guarded by `updated_at`: a job saved meanwhile
 * already has the due time its save computed.
 */
async function advanceDueTimes(db: Db, jobs: DueJob[], windowEnd: Date): Promise<void> {
  if (jobs.length === 0) return;
  const updates = jobs.map((job) =>
    db
      .update(backupJobs)
      .set({ nextDueAt: nextDueAt(job.schedules, true, windowEnd) })
      .where(and(eq(backupJobs.id, job.id), eq(backupJobs.updatedAt, job.updatedAt))),
  );
  await db.batch(updates as [(typeof updates)[number], ...typeof updates]);
}

type DueTime = ReturnType<typeof dueScheduledTimes>[number];

/** One subscriber's due times: those with no run started in their window and not reported yet are reported. */
async function reportMissedOfSubscriber(env: Env, db: Db, now: Date, windowStart: Date, subscriberId: string, items: DueTime[]): Promise<number> {
  const jobIds = [...new Set(items.map((d) => d.job.id))];
  const [runs, already] = await db.batch([
    db
      .select({ backupJobId: backupRuns.backupJobId, startedUtc: backupRuns.startedUtc, createdAt: backupRuns.createdAt })
      .from(backupRuns)
      .where(
        and(
          eq(backupRuns.subscriberId, subscriberId),
          inArray(backupRuns.backupJobId, jobIds),
          gte(backupRuns.createdAt, new Date(windowStart.getTime() - EARLY_START_MS)),
          ne(backupRuns.status, "Queued"),
        ),
      ),
    db
      .select({ backupJobId: missedScheduleReports.backupJobId, scheduledFor: missedScheduleReports.scheduledFor })
      .from(missedScheduleReports)
      .where(and(inArray(missedScheduleReports.backupJobId, jobIds), gte(missedScheduleReports.scheduledFor, windowStart))),
  ]);
  const reportedKeys = new Set(already.map((r) => `${r.backupJobId}@${r.scheduledFor.getTime()}`));
  let reported = 0;
  for (const { job, schedule, time, until } of items) {
    if (reportedKeys.has(`${job.id}@${time.getTime()}`)) continue;
    const started = runs.some((r) => {
      const at = (r.startedUtc ?? r.createdAt).getTime();
      return r.backupJobId === job.id && at >= time.getTime() - EARLY_START_MS && at < until.getTime();
    });
    if (started) continue;
    if (await reportMissedRun(env, db, now, job, schedule, time)) {
      reportedKeys.add(`${job.id}@${time.getTime()}`);
      reported++;
    }
  }
  return reported;
}

async function reportMissedRun(
  env: Env,
  db: Db,
  now: Date,
  job: { id: string; subscriberId: string; agentId: string | null; name: string },
  schedule: { cronExpression: string; backupMode: BackupMode },
  time: Date,
): Promise<boolean> {
  const ctx = { db, subscriberId: job.subscriberId, now };
  const writes = anomalyWrites(
    ctx,
    {
      backupJobId: job.id,
      name: job.name,
      kind: "missing",
      expected: isoUtc(time),
      actual: null,
      details: { scheduledFor: isoUtc(time), cronExpression: schedule.cronExpression, backupMode: schedule.backupMode },
      message: `Backup of "${job.name}" (${schedule.backupMode}) scheduled for ${isoUtc(time)} did not start within 30 minutes.`,
    },
    job.agentId,
  );
  try {
    await db.batch([
      db.insert(missedScheduleReports).values({ backupJobId: job.id, scheduledFor: time, subscriberId: job.subscriberId, reportedAt: now }),
      ...writes.queries,
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) return false; // a concurrent sweep reported it first
    throw err;
  }
  await publishEvents(env, [writes.eventId]);
  return true;
}

function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
