import { setPaginationHeaders } from "../../http/pagination";
import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../http/types";
import * as jobs from "../../services/backup-job";
import * as runs from "../../services/backup-run";
import type * as routes from "./routes";

const toSummary = (job: jobs.BackupJobRow) => ({
  backupJobId: job.id,
  name: job.name,
  isEnabled: job.isEnabled,
  agentId: job.agentId,
  schedules: job.schedules,
  lastStatus: job.lastStatus,
  lastRunUtc: isoUtc(job.lastRunUtc),
});

const toDetail = ({ job, databases, destinations }: jobs.BackupJobDetail) => ({
  backupJobId: job.id,
  name: job.name,
  isEnabled: job.isEnabled,
  agentId: job.agentId,
  databases: databases.map(({ databaseId, name, dbmsType }) => ({ databaseId, name, dbmsType })),
  destinations: destinations.map(({ destinationId, name, type }) => ({ destinationId, name, type })),
  schedules: job.schedules,
  retentionDays: job.retentionDays,
  encryption: { enabled: job.encryptionEnabled, algorithm: job.encryptionEnabled ? ("AES-256" as const) : null },
  verification: job.verification,
});

const toRun = (run: runs.BackupRunRow) => ({
  backupRunId: run.id,
  backupMode: run.backupMode,
  trigger: run.trigger,
  status: run.status,
  startedUtc: isoUtc(run.startedUtc),
  finishedUtc: isoUtc(run.finishedUtc),
  durationMs: run.durationMs,
  totalSize: run.totalSize,
  bytesDone: run.bytesDone,
  error: run.error,
});

export const listBackupJobs: AppRouteHandler<typeof routes.listBackupJobs> = async (c) => {
  const page = c.req.valid("query");
  const { rows, total } = await jobs.listJobs(c.var.ctx, page);
  setPaginationHeaders(c, page, total);
  return c.json(rows.map(toSummary), 200);
};

export const getBackupJob: AppRouteHandler<typeof routes.getBackupJob> = async (c) => {
  const detail = await jobs.getJobDetail(c.var.ctx, c.req.valid("param").id);
  return c.json(toDetail(detail), 200);
};

export const createBackupJob: AppRouteHandler<typeof routes.createBackupJob> = async (c) => {
  const job = await jobs.createJob(c.var.ctx, c.req.valid("json"));
  return c.json({ backupJobId: job.id, name: job.name, isEnabled: job.isEnabled }, 200);
};

export const updateBackupJob: AppRouteHandler<typeof routes.updateBackupJob> = async (c) => {
  const detail = await jobs.updateJob(c.var.ctx, c.req.valid("param").id, c.req.valid("json"));
  return c.json(toDetail(detail), 200);
};

export const deleteBackupJob: AppRouteHandler<typeof routes.deleteBackupJob> = async (c) => {
  await jobs.deleteJob(c.var.ctx, c.req.valid("param").id);
  return c.json({ message: "Backup job deleted." }, 200);
};

export const runBackupJob: AppRouteHandler<typeof routes.runBackupJob> = async (c) => {
  const body = c.req.valid("json") ?? {};
  const backupRunId = await jobs.triggerRun(c.var.ctx, c.req.valid("param").id, body.backupMode);
  return c.json({ message: "Backup triggered.", backupRunId }, 200);
};

export const backupJobHistory: AppRouteHandler<typeof routes.backupJobHistory> = async (c) => {
  const page = c.req.valid("query");
  const { rows, total } = await runs.listRuns(c.var.ctx, c.req.valid("param").id, page);
  setPaginationHeaders(c, page, total);
  return c.json(rows.map(toRun), 200);
};
