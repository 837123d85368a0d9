import { and, asc, eq, inArray } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db/client";
import { backupFiles, backupJobs, backupRuns, databases, destinations } from "../db/schema";
import { recordMetric } from "../lib/metrics";
import type { BackupReport } from "../protocol/agent-protocol";
import { eventInsert, publishEvents } from "./event";
import { platformLogInsert } from "./log";
import type { ServiceContext } from "./context";
import { completedRunAnomalies } from "./anomaly";
import { type BackupRunRow, failRunQueries, recordLastRun } from "./backup-run";

/** The reporting agent's tenant, and the agent itself: a report may only touch that agent's jobs and runs. */
type ReportScope = Pick<ServiceContext, "db" | "env" | "subscriberId" | "now"> & { agentId: string };

export type BackupReportOutcome = { ok: true } | { ok: false; error: string };

type Report<T extends BackupReport["type"]> = Extract<BackupReport, { type: T }>;

const OK: BackupReportOutcome = { ok: true };
const refuse = (error: string): BackupReportOutcome => ({ ok: false, error });

/** Files per INSERT: 15 bound values each (drizzle binds the status default too), under D1's 100 parameters per statement. */
const FILES_PER_INSERT = 6;
/** File names per `IN (…)`, next to three other bound values. */
const NAMES_PER_STATEMENT = 90;

/**
 * Gives one backup report (`backup.started/progress/completed/failed`) from an agent its meaning: runs
 * are created or moved on, files recorded, the job's last status updated, and each outcome records a
 * `backup.success`/`backup.failure` event and a log entry in the same batch. The AgentSession applies
 * each message id once; reports are also idempotent by `backupRunId` (a finished run never changes).
 * A report about another subscriber's or another agent's job or run, or naming an unknown database or
 * destination, is refused and changes nothing.
 */
export async function applyBackupReport(
  agentCtx: Pick<ServiceContext, "db" | "env" | "subscriberId" | "now">,
  agentId: string,
  report: BackupReport,
): Promise<BackupReportOutcome> {
  const ctx: ReportScope = { ...agentCtx, agentId };
  switch (report.type) {
    case "backup.started":
      return started(ctx, report);
    case "backup.progress":
      return progress(ctx, report);
    case "backup.completed":
      return completed(ctx, report);
    case "backup.failed":
      return failed(ctx, report);
  }
}

const UNKNOWN_RUN = "Unknown backup run for this agent.";
const FINISHED = new Set<BackupRunRow["status"]>(["Success", "Failed"]);

/** The run, if it is this agent's (another agent's or subscriber's run is as unknown as a missing one). */
async function findOwnRun({ db, subscriberId, agentId }: ReportScope, backupRunId: string) {
  const run = await db.query.backupRuns.findFirst({ where: eq(backupRuns.id, backupRunId) });
  return run && run.subscriberId === subscriberId && run.agentId === agentId ? run : null;
}

async function jobName(db: Db, run: BackupRunRow): Promise<string> {
  const job = await db.query.backupJobs.findFirst({ columns: { name: true }, where: eq(backupJobs.id, run.backupJobId) });
  return job?.name ?? `deleted job ${run.backupJobId}`;
}

async function started(ctx: ReportScope, report: Report<"backup.started">): Promise<BackupReportOutcome> {
  const { db, subscriberId, agentId, now } = ctx;
  const [job, existing] = await Promise.all([
    db.query.backupJobs.findFirst({ where: eq(backupJobs.id, report.backupJobId) }),
    db.query.backupRuns.findFirst({ where: eq(backupRuns.id, report.backupRunId) }),
  ]);
  if (!job || job.subscriberId !== subscriberId || job.agentId !== agentId) return refuse("Unknown backup job for this agent.");
  const startedUtc = new Date(report.startedUtc);
  const log = platformLogInsert(ctx, {
    severity: "Information",
    message: `Backup of "${job.name}" (${report.backupMode}, ${report.trigger}) started.`,
    agentId,
    backupJobId: job.id,
  });
  if (existing) {
    if (existing.subscriberId !== subscriberId || existing.agentId !== agentId || existing.backupJobId !== job.id) {
      return refuse("Backup run belongs to another job or agent.");
    }
    if (existing.status !== "Queued") return OK;
    await db.batch([
      db
        .update(backupRuns)
        .set({ status: "Running", startedUtc, backupMode: report.backupMode })
        .where(and(eq(backupRuns.id, existing.id), eq(backupRuns.status, "Queued"))),
      log,
    ]);
    return OK;
  }
  // A run the agent started on its own schedule: the platform learns of it here.
  await db.batch([
    db
      .insert(backupRuns)
      .values({
        id: report.backupRunId,
        subscriberId,
        backupJobId: job.id,
        agentId,
        backupMode: report.backupMode,
        trigger: report.trigger,
        status: "Running",
        startedUtc,
        createdAt: now,
      })
      .onConflictDoNothing(),
    log,
  ]);
  return OK;
}

/** The first id in `wanted` that is not in `found`. */
const firstMissing = (wanted: string[], found: { id: string }[]) => {
  const known = new Set(found.map((f) => f.id));
  return wanted.find((id) => !known.has(id));
};

/** A refusal when a reported file names a database of another agent or an unknown destination, else null. */
async function unknownFileReference({ db, subscriberId, agentId }: ReportScope, report: Report<"backup.completed">): Promise<string | null> {
  const databaseIds = [...new Set(report.files.map((f) => f.databaseId))];
  const destinationIds = [...new Set(report.files.map((f) => f.destinationId))];
  const [knownDatabases, knownDestinations] = await Promise.all([
    databaseIds.length === 0
      ? []
      : db
          .select({ id: databases.id })
          .from(databases)
          .where(and(eq(databases.subscriberId, subscriberId), eq(databases.agentId, agentId), inArray(databases.id, databaseIds))),
    destinationIds.length === 0
      ? []
      : db
          .select({ id: destinations.id })
          .from(destinations)
          .where(and(eq(destinations.subscriberId, subscriberId), inArray(destinations.id, destinationIds))),
  ]);
  const unknownDatabase = firstMissing(databaseIds, knownDatabases);
  if (unknownDatabase) return `Unknown database ${unknownDatabase} for this agent.`;
  const unknownDestination = firstMissing(destinationIds, knownDestinations);
  return unknownDestination ? `Unknown destination ${unknownDestination}.` : null;
}

/** A running run's progress: kept on the run (`bytesDone` in its history) until it finishes. */
async function progress(ctx: ReportScope, report: Report<"backup.progress">): Promise<BackupReportOutcome> {
  const run = await findOwnRun(ctx, report.backupRunId);
  if (!run) return refuse(UNKNOWN_RUN);
  if (FINISHED.has(run.status)) return OK;
  await ctx.db
    .update(backupRuns)
    .set({ bytesDone: report.bytesDone })
    .where(and(eq(backupRuns.id, run.id), inArray(backupRuns.status, ["Queued", "Running"])));
  return OK;
}

/**
 * The reported files as rows, dated when the run finished. A 1.0 agent's files are of the run's mode;
 * a Differential or TransactionLog file's `baseFileName` becomes the id of that file (same job and
 * destination), in this report or recorded before; a base the platform never recorded stays null.
 */
async function fileRows(ctx: ReportScope, run: BackupRunRow, report: Report<"backup.completed">, finishedUtc: Date) {
  const rows = report.files.map((f) => ({
    id: crypto.randomUUID(),
    subscriberId: ctx.subscriberId,
    backupJobId: run.backupJobId,
    backupRunId: run.id,
    databaseId: f.databaseId,
    destinationId: f.destinationId,
    fileName: f.fileName,
    fileSize: f.fileSize,
    checksum: f.checksum,
    backupMode: f.backupMode ?? run.backupMode,
    baseBackupFileId: null as string | null,
    tableCount: f.tables ?? null,
    rowCount: f.rows ?? null,
    dateCreated: finishedUtc,
  }));
  const wanted = report.files.flatMap((f, i) => (f.baseFileName ? [{ row: rows[i], baseFileName: f.baseFileName }] : []));
  if (wanted.length === 0) return rows;
  const bases = await recordedFileIds(ctx, run.backupJobId, wanted.map((w) => ({ destinationId: w.row.destinationId, fileName: w.baseFileName })));
  for (const row of rows) bases.set(locationKey(row), row.id);
  for (const { row, baseFileName } of wanted) row.baseBackupFileId = bases.get(locationKey({ destinationId: row.destinationId, fileName: baseFileName })) ?? null;
  return rows;
}

const locationKey = (file: { destinationId: string; fileName: string }) => `${file.destinationId}\n${file.fileName}`;

/** Ids of a job's recorded files at these locations (the newest one where a name was recorded twice). */
async function recordedFileIds({ db, subscriberId }: ReportScope, backupJobId: string, locations: { destinationId: string; fileName: string }[]) {
  const ids = new Map<string, string>();
  for (const destinationId of new Set(locations.map((l) => l.destinationId))) {
    const names = [...new Set(locations.filter((l) => l.destinationId === destinationId).map((l) => l.fileName))];
    for (let i = 0; i < names.length; i += NAMES_PER_STATEMENT) {
      const found = await db
        .select({ id: backupFiles.id, fileName: backupFiles.fileName })
        .from(backupFiles)
        .where(
          and(
            eq(backupFiles.subscriberId, subscriberId),
            eq(backupFiles.destinationId, destinationId),
            inArray(backupFiles.fileName, names.slice(i, i + NAMES_PER_STATEMENT)),
            eq(backupFiles.backupJobId, backupJobId),
          ),
        )
        .orderBy(asc(backupFiles.dateCreated));
      for (const f of found) ids.set(locationKey({ destinationId, fileName: f.fileName }), f.id);
    }
  }
  return ids;
}

/** The inserts of the files, chunked under D1's bound-parameter limit. */
function fileInserts(db: ReportScope["db"], files: Awaited<ReturnType<typeof fileRows>>): BatchItem<"sqlite">[] {
  const inserts: BatchItem<"sqlite">[] = [];
  for (let i = 0; i < files.length; i += FILES_PER_INSERT) inserts.push(db.insert(backupFiles).values(files.slice(i, i + FILES_PER_INSERT)));
  return inserts;
}

async function completed(ctx: ReportScope, report: Report<"backup.completed">): Promise<BackupReportOutcome> {
  const { db, subscriberId, agentId } = ctx;
  const run = await findOwnRun(ctx, report.backupRunId);
  if (!run) return refuse(UNKNOWN_RUN);
  if (FINISHED.has(run.status)) return OK;
  const [problem, name] = await Promise.all([unknownFileReference(ctx, report), jobName(db, run)]);
  if (problem) return refuse(problem);

  const finishedUtc = new Date(report.finishedUtc);
  const startedUtc = run.startedUtc ?? finishedUtc;
  const durationMs = Math.max(0, finishedUtc.getTime() - startedUtc.getTime());
  const files = await fileRows(ctx, run, report, finishedUtc);
  const totalSize = files.reduce((sum, f) => sum + f.fileSize, 0);
  const event = eventInsert(ctx, "backup.success", {
    backupJobId: run.backupJobId,
    backupRunId: run.id,
    name,
    backupMode: run.backupMode,
    durationMs,
    totalSize,
    files: files.map((f) => ({ backupFileId: f.id, fileName: f.fileName, fileSize: f.fileSize, checksum: f.checksum })),
  });
  // Compared with the job's history before this run joins it; the anomalies are written with the success.
  const anomalies = await completedRunAnomalies(ctx, { backupJobId: run.backupJobId, backupRunId: run.id, agentId, name, backupMode: run.backupMode, totalSize, durationMs });
  await db.batch([
    db
      .update(backupRuns)
      .set({ status: "Success", startedUtc, finishedUtc, durationMs, totalSize, bytesDone: totalSize, error: null })
      .where(and(eq(backupRuns.id, run.id), eq(backupRuns.status, run.status))),
    ...fileInserts(db, files),
    recordLastRun(db, run.backupJobId, "Success", startedUtc),
    ...event.queries,
    platformLogInsert(ctx, {
      severity: "Information",
      message: `Backup of "${name}" (${run.backupMode}) succeeded: ${files.length} file(s), ${totalSize} bytes in ${durationMs} ms.`,
      agentId,
      backupJobId: run.backupJobId,
    }),
    ...anomalies.queries,
  ]);
  recordMetric(ctx.env, { event: "backup_run", outcome: "Success", backupMode: run.backupMode });
  await publishEvents(ctx.env, [event.id, ...anomalies.eventIds]);
  return OK;
}

async function failed(ctx: ReportScope, report: Report<"backup.failed">): Promise<BackupReportOutcome> {
  const run = await findOwnRun(ctx, report.backupRunId);
  if (!run) return refuse(UNKNOWN_RUN);
  if (FINISHED.has(run.status)) return OK;
  const failure = failRunQueries(ctx, run, await jobName(ctx.db, run), { finishedUtc: new Date(report.finishedUtc), error: report.error });
  await ctx.db.batch(failure.queries);
  recordMetric(ctx.env, { event: "backup_run", outcome: "Failed", backupMode: run.backupMode, reason: "agent_report" });
  await publishEvents(ctx.env, [failure.eventId]);
  return OK;
}
