import { Cron } from "croner";
import { and, count, desc, eq, gt, inArray, isNotNull, sql } from "drizzle-orm";
import { createDb } from "../db/client";
import { errorText, log } from "../lib/log";
import { agents, backupFiles, backupJobs, backupRuns, databases, destinations, engines, restores, verifications } from "../db/schema";
import { badRequest, notFound } from "../lib/errors";
import { type Pagination, pageOffset } from "../lib/pagination";
import type { AgentJob, RestoreRunCommand } from "../protocol/agent-protocol";
import { sendAgentCommand } from "./agent";
import { type BackupFileRow, getFile } from "./backup-file";
import type { ServiceContext } from "./context";
import { platformLogInsert } from "./log";
import { SECRET_BINDINGS, openSecret } from "./secret";

/** What restores need: the tenant, the instant and the env (a scheduled drill has no user behind it). */
type RestoreScope = Pick<ServiceContext, "db" | "env" | "now" | "subscriberId">;

export type RestoreRow = typeof restores.$inferSelect;
export type VerificationRow = typeof verifications.$inferSelect;

export interface RestoreInput {
  targetDatabaseName: string;
  agentId?: string;
  overwrite: boolean;
}

/** What `restore.run` and `verify.run` share: the files in apply order, the engine to restore with, the passphrase. */
type RestoreSource = Pick<RestoreRunCommand, "files" | "engineKey" | "encryption">;

/** 400 unless the agent is one of the caller's and online: a restore is only queued for an agent that can start it. */
async function requireOnlineAgent({ db, subscriberId }: RestoreScope, agentId: string, field?: string) {
  const agent = await db.query.agents.findFirst({ where: and(eq(agents.id, agentId), eq(agents.subscriberId, subscriberId)) });
  if (!agent) throw badRequest(`${field ?? "agentId"}: Agent not found.`, [{ path: field ?? "agentId", message: "Agent not found." }]);
  if (!agent.isOnline) throw badRequest("Agent is offline: the restore cannot be queued until it reconnects.");
  return agent;
}

/** A chain longer than this is refused rather than walked: one Full, its Differential and a day of 15-minute logs fit. */
const MAX_CHAIN_FILES = 200;

/**
 * The files to apply, oldest first: the file and the chain it builds on (`baseBackupFileId` walked back to
 * the Full). A link that was never recorded or was deleted by retention ends the chain where it is: the
 * agent refuses a chain that does not start with a Full, so such a restore fails on the agent, not here.
 */
async function applyOrder({ db, subscriberId }: RestoreScope, file: BackupFileRow): Promise<BackupFileRow[]> {
  const chain = [file];
  for (let base = file.baseBackupFileId; base && chain.length < MAX_CHAIN_FILES; ) {
    const row = await db.query.backupFiles.findFirst({ where: and(eq(backupFiles.id, base), eq(backupFiles.subscriberId, subscriberId)) });
    if (!row || row.status !== "Available") break;
    chain.unshift(row);
    base = row.baseBackupFileId;
  }
  return chain;
}

/** The engine on `agentId` that restores `file`: the file's own engine on its agent, else one of the same type. */
async function restoringEngine({ db, subscriberId }: RestoreScope, file: BackupFileRow, agentId: string) {
  const [source] = await db
    .select({ agentId: databases.agentId, engineId: engines.id, dbmsType: engines.dbmsType })
    .from(databases)
    .innerJoin(engines, eq(engines.id, databases.engineId))
    .where(and(eq(databases.id, file.databaseId), eq(databases.subscriberId, subscriberId)))
    .limit(1);
  if (!source) throw badRequest("The database this backup came from is no longer known; its engine type cannot be chosen.");
  const candidates = await db
    .select({ id: engines.id, engineKey: engines.engineKey, canRestore: engines.canRestore })
    .from(engines)
    .where(and(eq(engines.subscriberId, subscriberId), eq(engines.agentId, agentId), eq(engines.dbmsType, source.dbmsType)));
  const engine = candidates.find((e) => e.id === source.engineId) ?? candidates.find((e) => e.canRestore) ?? candidates[0];
  if (!engine) throw badRequest(`The agent has no ${source.dbmsType} engine to restore into.`);
  if (!engine.canRestore) throw badRequest(`Engine "${engine.engineKey}" cannot restore: its agent does not report the restore capability.`);
  return engine;
}

/** The destination of each file, as `job.upsert` sends destinations. */
async function fileDestinations({ db, subscriberId }: RestoreScope, files: BackupFileRow[]) {
  const ids = [...new Set(files.map((f) => f.destinationId))];
  const rows = await db
    .select({ destinationId: destinations.id, name: destinations.name, type: destinations.type, settings: destinations.settings, credentialReferenceId: destinations.credentialId })
    .from(destinations)
    .where(and(eq(destinations.subscriberId, subscriberId), inArray(destinations.id, ids)));
  const byId = new Map(rows.map((d) => [d.destinationId, d as AgentJob["destinations"][number]]));
  return files.map((f) => {
    const destination = byId.get(f.destinationId);
    if (!destination) throw badRequest(`The destination of "${f.fileName}" was deleted; the file cannot be fetched.`);
    return destination;
  });
}

/**
 * The job's passphrase, opened from its sealed column. It is delivered only to the agent that runs the job
 * (the one that made the files): an encrypted backup restored elsewhere is refused rather than leak it.
 */
async function passphraseFor(ctx: RestoreScope, file: BackupFileRow, agentId: string): Promise<string | null> {
  const job = await ctx.db.query.backupJobs.findFirst({ where: and(eq(backupJobs.id, file.backupJobId), eq(backupJobs.subscriberId, ctx.subscriberId)) });
  if (!job?.encryptionEnabled || !job.sealedPassphrase) return null;
  if (job.agentId !== agentId) throw badRequest("This backup is encrypted: only the agent of its job can restore it (the passphrase never goes to another agent).");
  return openSecret(ctx.env, job.sealedPassphrase, SECRET_BINDINGS.passphrase(job.id, job.agentId));
}

async function restoreSource(ctx: RestoreScope, file: BackupFileRow, agentId: string): Promise<RestoreSource> {
  const engine = await restoringEngine(ctx, file, agentId);
  const files = await applyOrder(ctx, file);
  const [fileDestinationList, passphrase] = await Promise.all([fileDestinations(ctx, files), passphraseFor(ctx, file, agentId)]);
  return {
    files: files.map((f, i) => ({ destination: fileDestinationList[i], fileName: f.fileName, checksum: f.checksum })),
    engineKey: engine.engineKey,
    encryption: { passphrase },
  };
}

/** The agent that made the file: the agent of the run that wrote it. */
async function producingAgentId({ db, subscriberId }: RestoreScope, file: BackupFileRow): Promise<string> {
  const run = await db.query.backupRuns.findFirst({ columns: { agentId: true }, where: and(eq(backupRuns.id, file.backupRunId), eq(backupRuns.subscriberId, subscriberId)) });
  if (!run) throw badRequest("The run that made this backup is unknown; give an agentId.");
  return run.agentId;
}

/** `POST /api/backupfile/{id}/restore`: a Queued restore and a `restore.run` command on the agent's queue. */
export async function queueRestore(ctx: ServiceContext, fileId: string, input: RestoreInput): Promise<string> {
  const file = await getFile(ctx, fileId);
  const agentId = input.agentId ?? (await producingAgentId(ctx, file));
  await requireOnlineAgent(ctx, agentId);
  const source = await restoreSource(ctx, file, agentId);
  const restoreId = crypto.randomUUID();
  await ctx.db.batch([
    ctx.db.insert(restores).values({
      id: restoreId,
      subscriberId: ctx.subscriberId,
      backupFileId: file.id,
      agentId,
      targetDatabaseName: input.targetDatabaseName,
      overwrite: input.overwrite,
      status: "Queued",
      createdAt: ctx.now,
    }),
    platformLogInsert(ctx, {
      severity: "Information",
      message: `Restore of "${file.fileName}" into "${input.targetDatabaseName}" queued${input.overwrite ? " (overwrite)" : ""}.`,
      agentId,
      backupJobId: file.backupJobId,
    }),
  ]);
  await sendAgentCommand(ctx.env, agentId, {
    type: "restore.run",
    restoreId,
    ...source,
    target: { databaseName: input.targetDatabaseName, overwrite: input.overwrite },
  });
  return restoreId;
}

export async function listRestores({ db, subscriberId }: RestoreScope, page: Pagination) {
  const where = eq(restores.subscriberId, subscriberId);
  const [rows, [{ total }]] = await Promise.all([
    db.select().from(restores).where(where).orderBy(desc(restores.createdAt), desc(restores.id)).limit(page.pageSize).offset(pageOffset(page)),
    db.select({ total: count() }).from(restores).where(where),
  ]);
  return { rows, total };
}

export async function getRestore({ db, subscriberId }: RestoreScope, restoreId: string): Promise<RestoreRow> {
  const row = await db.query.restores.findFirst({ where: and(eq(restores.id, restoreId), eq(restores.subscriberId, subscriberId)) });
  if (!row) throw notFound("Restore not found.");
  return row;
}

async function findJob({ db, subscriberId }: RestoreScope, jobId: string) {
  const job = await db.query.backupJobs.findFirst({ where: and(eq(backupJobs.id, jobId), eq(backupJobs.subscriberId, subscriberId)) });
  if (!job) throw notFound("Backup job not found.");
  return job;
}

/**
 * `POST /api/backupjob/{id}/verify`: a Queued drill of the job's newest backup file on the job's agent.
 * A scheduled drill (`online: false`) is queued for an offline agent too: it runs when the agent reconnects.
 */
export async function queueVerification(ctx: RestoreScope, jobId: string, { requireOnline = true } = {}): Promise<string> {
  const job = await findJob(ctx, jobId);
  if (!job.agentId) throw badRequest("Backup job has no agent (its agent was deleted); assign an agent first.");
  if (requireOnline) await requireOnlineAgent(ctx, job.agentId);
  const file = await ctx.db.query.backupFiles.findFirst({
    where: and(eq(backupFiles.subscriberId, ctx.subscriberId), eq(backupFiles.backupJobId, jobId)),
    orderBy: [desc(backupFiles.dateCreated), desc(backupFiles.id)],
  });
  if (!file) throw badRequest("Backup job has no backup file to verify yet.");
  const source = await restoreSource(ctx, file, job.agentId);
  const verificationId = crypto.randomUUID();
  await ctx.db.batch([
    ctx.db.insert(verifications).values({
      id: verificationId,
      subscriberId: ctx.subscriberId,
      backupJobId: jobId,
      backupFileId: file.id,
      agentId: job.agentId,
      status: "Queued",
      createdAt: ctx.now,
    }),
    platformLogInsert(ctx, { severity: "Information", message: `Verification of "${job.name}" (${file.fileName}) queued.`, agentId: job.agentId, backupJobId: jobId }),
  ]);
  const expected = file.tableCount !== null && file.rowCount !== null ? { tables: file.tableCount, rows: file.rowCount } : null;
  await sendAgentCommand(ctx.env, job.agentId, { type: "verify.run", verificationId, ...source, expected });
  return verificationId;
}

export async function listVerifications(ctx: RestoreScope, jobId: string, page: Pagination) {
  await findJob(ctx, jobId);
  const where = and(eq(verifications.subscriberId, ctx.subscriberId), eq(verifications.backupJobId, jobId));
  const [rows, [{ total }]] = await Promise.all([
    ctx.db.select().from(verifications).where(where).orderBy(desc(verifications.createdAt), desc(verifications.id)).limit(page.pageSize).offset(pageOffset(page)),
    ctx.db.select({ total: count() }).from(verifications).where(where),
  ]);
  return { rows, total };
}

/** Whether `cronExpression` has a time in (now - 1 min, now]: the every-minute sweep queues a drill once per tick. */
function dueWithinLastMinute(cronExpression: string, now: Date): boolean {
  try {
    const next = new Cron(cronExpression, { timezone: "UTC", mode: "5-part", paused: true }).nextRun(new Date(now.getTime() - 60_000));
    return next !== null && next <= now;
  } catch {
    return false; // validated when saved
  }
}

/**
 * The `scheduled` sweep for drills (every minute): each enabled job whose `verification` cron is due gets
 * a drill queued on its agent, online or not (the command waits in the agent's queue). A job that got a
 * drill in the last minute is skipped, so a repeated tick does not queue it twice. Returns how many it queued.
 */
export async function queueScheduledVerifications(env: Env, now: Date): Promise<number> {
  const db = createDb(env.DB);
  const jobs = await db
    .select({ id: backupJobs.id, subscriberId: backupJobs.subscriberId, verification: backupJobs.verification })
    .from(backupJobs)
    .where(and(eq(backupJobs.isEnabled, true), isNotNull(backupJobs.agentId), sql`json_extract(${backupJobs.verification}, '$.enabled') = 1`));
  let queued = 0;
  for (const job of jobs) {
    if (!job.verification || !dueWithinLastMinute(job.verification.cronExpression, now)) continue;
    const recent = await db.query.verifications.findFirst({
      columns: { id: true },
      where: and(eq(verifications.backupJobId, job.id), gt(verifications.createdAt, new Date(now.getTime() - 60_000))),
    });
    if (recent) continue;
    try {
      await queueVerification({ db, env, now, subscriberId: job.subscriberId }, job.id, { requireOnline: false });
      queued++;
    } catch (error) {
      log.warn("verification.schedule.skipped", { backupJobId: job.id, error: errorText(error) });
    }
  }
  return queued;
}
