import { and, eq, inArray, lt } from "drizzle-orm";
import { createDb } from "../db/client";
import { restores, verifications } from "../db/schema";
import type { RestoreStatus } from "../domain/restore";
import type { RestoreReport, VerifyReport } from "../protocol/agent-protocol";
import type { BackupReportOutcome } from "./backup-report";
import type { ServiceContext } from "./context";
import { eventInsert, publishEvents } from "./event";
import { platformLogInsert } from "./log";

type ReportScope = Pick<ServiceContext, "db" | "env" | "subscriberId" | "now">;

const OK: BackupReportOutcome = { ok: true };
const UNFINISHED: RestoreStatus[] = ["Queued", "Running"];

type Outcome = { finishedUtc: Date; tables?: number; rows?: number; error?: string };

/**
 * Gives one `restore.*` report its meaning. Idempotent by `restoreId` as backup reports are by run: a
 * finished restore never changes, and each outcome records its event and log entry in the same batch.
 * A report about another agent's or subscriber's restore is refused and changes nothing.
 */
export async function applyRestoreReport(ctx: ReportScope, agentId: string, report: RestoreReport): Promise<BackupReportOutcome> {
  const { db, subscriberId } = ctx;
  const row = await db.query.restores.findFirst({ where: eq(restores.id, report.restoreId) });
  if (!row || row.subscriberId !== subscriberId || row.agentId !== agentId) return { ok: false, error: "Unknown restore for this agent." };
  const mine = and(eq(restores.id, row.id), inArray(restores.status, UNFINISHED));
  switch (report.type) {
    case "restore.started":
      await db.update(restores).set({ status: "Running", startedUtc: new Date(report.startedUtc) }).where(and(mine, eq(restores.status, "Queued")));
      return OK;
    case "restore.progress":
      await db.update(restores).set({ status: "Running", bytesDone: report.bytesDone }).where(mine);
      return OK;
  }
  if (!UNFINISHED.includes(row.status)) return OK;
  const outcome: Outcome = report.type === "restore.completed" ? { finishedUtc: new Date(report.finishedUtc), tables: report.tables, rows: report.rows } : { finishedUtc: new Date(report.finishedUtc), error: report.error };
  const success = outcome.error === undefined;
  const event = eventInsert(ctx, success ? "restore.success" : "restore.failure", {
    restoreId: row.id,
    backupFileId: row.backupFileId,
    agentId,
    targetDatabaseName: row.targetDatabaseName,
    ...(success ? { tables: outcome.tables, rows: outcome.rows } : { error: outcome.error }),
  });
  await db.batch([
    db
      .update(restores)
      .set({ status: success ? "Success" : "Failed", finishedUtc: outcome.finishedUtc, tables: outcome.tables ?? null, rows: outcome.rows ?? null, error: outcome.error ?? null })
      .where(mine),
    ...event.queries,
    platformLogInsert(ctx, {
      severity: success ? "Information" : "Error",
      message: success
        ? `Restore into "${row.targetDatabaseName}" succeeded: ${outcome.tables} table(s), ${outcome.rows} row(s).`
        : `Restore into "${row.targetDatabaseName}" failed: ${outcome.error}`,
      agentId,
    }),
  ]);
  await publishEvents(ctx.env, [event.id]);
  return OK;
}

/** The same for `verify.*` reports, by `verificationId`; a drill's duration runs from its start to its outcome. */
export async function applyVerifyReport(ctx: ReportScope, agentId: string, report: VerifyReport): Promise<BackupReportOutcome> {
  const { db, subscriberId } = ctx;
  const row = await db.query.verifications.findFirst({ where: eq(verifications.id, report.verificationId) });
  if (!row || row.subscriberId !== subscriberId || row.agentId !== agentId) return { ok: false, error: "Unknown verification for this agent." };
  const mine = and(eq(verifications.id, row.id), inArray(verifications.status, UNFINISHED));
  switch (report.type) {
    case "verify.started":
      await db.update(verifications).set({ status: "Running", startedUtc: new Date(report.startedUtc) }).where(and(mine, eq(verifications.status, "Queued")));
      return OK;
    case "verify.progress":
      await db.update(verifications).set({ status: "Running" }).where(mine);
      return OK;
  }
  if (!UNFINISHED.includes(row.status)) return OK;
  const finishedUtc = new Date(report.finishedUtc);
  const success = report.type === "verify.completed";
  const started = row.startedUtc ?? row.createdAt;
  const durationMs = Math.max(0, finishedUtc.getTime() - started.getTime());
  const counts = success ? { tables: report.tables, rows: report.rows } : {};
  const error = success ? null : report.error;
  const event = eventInsert(ctx, success ? "verify.success" : "verify.failure", {
    verificationId: row.id,
    backupJobId: row.backupJobId,
    backupFileId: row.backupFileId,
    agentId,
    durationMs,
    ...(success ? counts : { error }),
  });
  await db.batch([
    db
      .update(verifications)
      .set({ status: success ? "Success" : "Failed", finishedUtc, durationMs, tables: counts.tables ?? null, rows: counts.rows ?? null, error })
      .where(mine),
    ...event.queries,
    platformLogInsert(ctx, {
      severity: success ? "Information" : "Error",
      message: success ? `Verification drill succeeded: ${counts.tables} table(s), ${counts.rows} row(s) restored and counted.` : `Verification drill failed: ${error}`,
      agentId,
      backupJobId: row.backupJobId,
    }),
  ]);
  await publishEvents(ctx.env, [event.id]);
  return OK;
}

/** How long a restore or drill may wait for its agent before it is failed: the command stays queued meanwhile. */
export const UNSTARTED_RESTORE_TIMEOUT_MS = 24 * 60 * 60 * 1000;
/** How long after it was queued one may still be Running without an outcome (the agent died mid-restore). */
export const UNFINISHED_RESTORE_TIMEOUT_MS = 7 * 24 * 60 * 60 * 1000;
const SWEEP_BATCH = 100;

/**
 * The every-minute sweep: a restore or drill no agent started within 24 hours, or still running 7 days
 * after it was queued, becomes Failed through the same path as an agent's `*.failed` report (event and
 * log entry included), so no restore stays Queued or Running forever. Returns how many it failed.
 */
export async function failStaleRestores(env: Env, now: Date): Promise<number> {
  const db = createDb(env.DB);
  const queuedBefore = new Date(now.getTime() - UNSTARTED_RESTORE_TIMEOUT_MS);
  const runningBefore = new Date(now.getTime() - UNFINISHED_RESTORE_TIMEOUT_MS);
  const finishedUtc = now.toISOString();
  const why = (status: RestoreStatus) =>
    status === "Queued" ? "The agent did not start it within 24 hours (offline, or an agent version without restores)." : "The agent reported no outcome within 7 days of the request.";
  const stale = (status: RestoreStatus, before: Date) => ({ status, before });
  let failed = 0;
  for (const { status, before } of [stale("Queued", queuedBefore), stale("Running", runningBefore)]) {
    const restoreRows = await db.select().from(restores).where(and(eq(restores.status, status), lt(restores.createdAt, before))).limit(SWEEP_BATCH);
    for (const row of restoreRows) {
      const ctx = { db, env, subscriberId: row.subscriberId, now };
      await applyRestoreReport(ctx, row.agentId, { type: "restore.failed", id: crypto.randomUUID(), restoreId: row.id, finishedUtc, error: why(status) });
      failed++;
    }
    const drillRows = await db.select().from(verifications).where(and(eq(verifications.status, status), lt(verifications.createdAt, before))).limit(SWEEP_BATCH);
    for (const row of drillRows) {
      const ctx = { db, env, subscriberId: row.subscriberId, now };
      await applyVerifyReport(ctx, row.agentId, { type: "verify.failed", id: crypto.randomUUID(), verificationId: row.id, finishedUtc, error: why(status) });
      failed++;
    }
  }
  return failed;
}
