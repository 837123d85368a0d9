import { and, count, desc, eq, inArray } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db/client";
import {
  type BackupMode,
  type DestinationType,
  type JobSchedule,
  type PlanName,
  type VerificationSchedule,
  agents,
  backupJobDatabases,
  backupJobDestinations,
  backupJobs,
  backupRuns,
  credentials,
  databases,
  destinations,
  engines,
} from "../db/schema";
import { badRequest, notFound } from "../lib/errors";
import { type Pagination, pageOffset } from "../lib/pagination";
import type { AgentJob } from "../protocol/agent-protocol";
import { platformLogInsert } from "./log";
import type { ServiceContext } from "./context";
import { describeAgent, requireOwnAgent, sendAgentCommand, writableDestinationTypes } from "./agent";
import { SECRET_BINDINGS, openSecret, resealIfUnbound, sealSecret } from "./secret";
import { nextDueAt } from "./schedule";
import { createWithinPlanLimit } from "./usage";

export type BackupJobRow = typeof backupJobs.$inferSelect;

export interface BackupJobInput {
  name: string;
  agentId: string;
  databaseIds: string[];
  destinationIds: string[];
  schedules: JobSchedule[];
  retentionDays: number;
  encryption: { enabled: boolean; passphrase?: string };
  isEnabled: boolean;
  verification?: VerificationSchedule | null;
}

export type BackupJobChanges = Partial<BackupJobInput>;

export interface BackupJobDetail {
  job: BackupJobRow;
  databases: { databaseId: string; name: string; dbmsType: string; engineKey: string }[];
  destinations: {
    destinationId: string;
    name: string;
    type: (typeof destinations.$inferSelect)["type"];
    settings: Record<string, unknown>;
    credentialReferenceId: string | null;
  }[];
}

export async function listJobs({ db, subscriberId }: ServiceContext, page: Pagination) {
  const where = eq(backupJobs.subscriberId, subscriberId);
  // One batch: one call to D1 (and to one replica) instead of two.
  const [rows, [{ total }]] = await db.batch([
    db.select().from(backupJobs).where(where).orderBy(desc(backupJobs.createdAt), desc(backupJobs.id)).limit(page.pageSize).offset(pageOffset(page)),
    db.select({ total: count() }).from(backupJobs).where(where),
  ]);
  return { rows, total };
}

async function findJob(db: Db, subscriberId: string, jobId: string) {
  const job = await db.query.backupJobs.findFirst({ where: and(eq(backupJobs.id, jobId), eq(backupJobs.subscriberId, subscriberId)) });
  if (!job) throw notFound("Backup job not found.");
  return job;
}

/** The job with its databases (and their engines) and destinations (with settings), in one round trip. */
export async function getJobDetail({ db, subscriberId }: ServiceContext, jobId: string): Promise<BackupJobDetail> {
  const [job, jobDatabases, jobDestinations] = await Promise.all([
    findJob(db, subscriberId, jobId),
    db
      .select({ databaseId: databases.id, name: databases.name, dbmsType: engines.dbmsType, engineKey: engines.engineKey })
      .from(backupJobDatabases)
      .innerJoin(databases, eq(databases.id, backupJobDatabases.databaseId))
      .innerJoin(engines, eq(engines.id, databases.engineId))
      .where(and(eq(backupJobDatabases.backupJobId, jobId), eq(databases.subscriberId, subscriberId)))
      .orderBy(databases.name),
    db
      .select({
        destinationId: destinations.id,
        name: destinations.name,
        type: destinations.type,
        settings: destinations.settings,
        credentialReferenceId: destinations.credentialId,
      })
      .from(backupJobDestinations)
      .innerJoin(destinations, eq(destinations.id, backupJobDestinations.destinationId))
      .where(and(eq(backupJobDestinations.backupJobId, jobId), eq(destinations.subscriberId, subscriberId)))
      .orderBy(destinations.name),
  ]);
  return { job, databases: jobDatabases, destinations: jobDestinations };
}

function referenceError(field: string, ids: string[], all: string[], message: string) {
  const details = ids.map((id) => ({ path: `${field}.${all.indexOf(id)}`, message }));
  return badRequest(`${field}: ${message} (${ids.join(", ")})`, details);
}

/**
 * Every database must have been discovered on the job's agent; every destination must be the caller's
 * and not bound to another agent. An orphaned job (no agent) can hold destinations but no databases.
 */
async function checkReferences(ctx: ServiceContext, agentId: string | null, databaseIds: string[], destinationIds: string[]) {
  if (!agentId && databaseIds.length > 0) {
    throw badRequest("databaseIds: this job has no agent (it was deleted); send agentId with the databases.", [
      { path: "agentId", message: "Required with databaseIds." },
    ]);
  }
  const [foundDatabases, foundDestinations] = await Promise.all([
    agentId && databaseIds.length > 0
      ? ctx.db
          .select({ id: databases.id })
          .from(databases)
          .where(and(eq(databases.subscriberId, ctx.subscriberId), eq(databases.agentId, agentId), inArray(databases.id, databaseIds)))
      : [],
    ctx.db
      .select({ id: destinations.id, agentId: destinations.agentId, credentialAgentId: credentials.agentId })
      .from(destinations)
      .leftJoin(credentials, eq(credentials.id, destinations.credentialId))
      .where(and(eq(destinations.subscriberId, ctx.subscriberId), inArray(destinations.id, destinationIds))),
  ]);
  const knownDatabases = new Set(foundDatabases.map((d) => d.id));
  const unknownDatabases = databaseIds.filter((id) => !knownDatabases.has(id));
  if (unknownDatabases.length > 0) {
    throw referenceError("databaseIds", unknownDatabases, databaseIds, "Database not found on the job's agent.");
  }
  // A destination is usable only from its own agent, or from the agent that stores its credential.
  const destinationAgents = new Map(foundDestinations.map((d) => [d.id, d.agentId ?? d.credentialAgentId]));
  const unknownDestinations = destinationIds.filter((id) => !destinationAgents.has(id));
  if (unknownDestinations.length > 0) {
    throw referenceError("destinationIds", unknownDestinations, destinationIds, "Destination not found.");
  }
  const foreign = destinationIds.filter((id) => {
    const owner = destinationAgents.get(id);
    return agentId !== null && owner !== null && owner !== agentId;
  });
  if (foreign.length > 0) {
    throw referenceError("destinationIds", foreign, destinationIds, "Destination is bound to another agent (its own or its credential's).");
  }
}

/** The distinct engines behind some databases (given by id, or as a job's), with the modes they can back up in. */
function enginesOf({ db, subscriberId }: ServiceContext, of: { databaseIds: string[] } | { backupJobId: string }) {
  const columns = { engineKey: engines.engineKey, dbmsType: engines.dbmsType, backupModes: engines.backupModes };
  if ("databaseIds" in of) {
    if (of.databaseIds.length === 0) return Promise.resolve([]);
    return db
      .selectDistinct(columns)
      .from(databases)
      .innerJoin(engines, eq(engines.id, databases.engineId))
      .where(and(eq(databases.subscriberId, subscriberId), inArray(databases.id, of.databaseIds)));
  }
  return db
    .selectDistinct(columns)
    .from(backupJobDatabases)
    .innerJoin(databases, eq(databases.id, backupJobDatabases.databaseId))
    .innerJoin(engines, eq(engines.id, databases.engineId))
    .where(and(eq(backupJobDatabases.backupJobId, of.backupJobId), eq(databases.subscriberId, subscriberId)));
}

type EngineModes = Awaited<ReturnType<typeof enginesOf>>[number];

/** A 400 naming the first engine that cannot back up in one of `modes` (each with the request path it came from). */
function assertModesSupported(engineRows: EngineModes[], modes: { backupMode: BackupMode; path: string }[]) {
  for (const { backupMode, path } of modes) {
    const engine = engineRows.find((e) => !e.backupModes.includes(backupMode));
    if (!engine) continue;
    const message = `Engine "${engine.engineKey}" (${engine.dbmsType}) cannot make ${backupMode} backups (it can: ${engine.backupModes.join(", ")}).`;
    throw badRequest(message, [{ path, message }]);
  }
}

/**
 * A 400 when the agent cannot write one of these destinations' types (an agent of protocol 1.0 writes
 * LocalStorage, S3Storage and SftpStorage); `path` is the request field each came from.
 */
export async function assertAgentWrites({ db }: Pick<ServiceContext, "db">, agentId: string, targets: { name: string; type: DestinationType; path: string }[]) {
  const agent = await db.query.agents.findFirst({ columns: { hostname: true, displayName: true, destinationTypes: true }, where: eq(agents.id, agentId) });
  if (!agent) return;
  const writable = writableDestinationTypes(agent);
  const unwritable = targets.find((d) => !writable.includes(d.type));
  if (!unwritable) return;
  const message = `Agent ${describeAgent(agent)} cannot write ${unwritable.type} destinations such as "${unwritable.name}" (it can write: ${writable.join(", ")}); update the agent or choose another destination.`;
  throw badRequest(message, [{ path: unwritable.path, message }]);
}

async function assertDestinationsWritable(ctx: ServiceContext, agentId: string, destinationIds: string[]) {
  const rows = await ctx.db
    .select({ id: destinations.id, name: destinations.name, type: destinations.type })
    .from(destinations)
    .where(and(eq(destinations.subscriberId, ctx.subscriberId), inArray(destinations.id, destinationIds)));
  await assertAgentWrites(ctx, agentId, rows.map((d) => ({ ...d, path: `destinationIds.${destinationIds.indexOf(d.id)}` })));
}

/**
 * Refuses (400) what the job's agent would fail at every run: a schedule in a mode one of the job's
 * engines cannot do, or a destination type the agent cannot write. Only the parts given are checked.
 */
async function checkCapabilities(ctx: ServiceContext, agentId: string | null, job: { databaseIds?: string[]; destinationIds?: string[]; schedules?: JobSchedule[] }) {
  if (!agentId) return;
  if (job.databaseIds && job.schedules) {
    const modes = job.schedules.map(({ backupMode }, i) => ({ backupMode, path: `schedules.${i}.backupMode` }));
    assertModesSupported(await enginesOf(ctx, { databaseIds: job.databaseIds }), modes);
  }
  if (job.destinationIds && job.destinationIds.length > 0) await assertDestinationsWritable(ctx, agentId, job.destinationIds);
}

const databaseLinks = (db: Db, jobId: string, databaseIds: string[]) =>
  db.insert(backupJobDatabases).values(databaseIds.map((databaseId) => ({ backupJobId: jobId, databaseId })));

const destinationLinks = (db: Db, jobId: string, destinationIds: string[]) =>
  db.insert(backupJobDestinations).values(destinationIds.map((destinationId) => ({ backupJobId: jobId, destinationId })));

const unique = (ids: string[]) => [...new Set(ids)];

export async function createJob(ctx: ServiceContext, input: BackupJobInput): Promise<BackupJobRow> {
  const agent = await requireOwnAgent(ctx, input.agentId);
  const databaseIds = unique(input.databaseIds);
  const destinationIds = unique(input.destinationIds);
  await checkReferences(ctx, agent.id, databaseIds, destinationIds);
  await checkCapabilities(ctx, agent.id, { databaseIds, destinationIds, schedules: input.schedules });
  const jobId = crypto.randomUUID();
  const job: BackupJobRow = {
    id: jobId,
    subscriberId: ctx.subscriberId,
    agentId: agent.id,
    name: input.name,
    isEnabled: input.isEnabled,
    schedules: input.schedules,
    retentionDays: input.retentionDays,
    encryptionEnabled: input.encryption.enabled,
    sealedPassphrase:
      input.encryption.enabled && input.encryption.passphrase
        ? await sealSecret(ctx.env, input.encryption.passphrase, SECRET_BINDINGS.passphrase(jobId, agent.id))
        : null,
    verification: input.verification ?? null,
    lastStatus: null,
    lastRunUtc: null,
    nextDueAt: nextDueAt(input.schedules, input.isEnabled, ctx.now),
    createdAt: ctx.now,
    updatedAt: ctx.now,
  };
  await createWithinPlanLimit(ctx, "backupJobs", (subscriberId) =>
    ctx.db.batch([
      ctx.db.insert(backupJobs).values({ ...job, subscriberId }),
      databaseLinks(ctx.db, job.id, databaseIds),
      destinationLinks(ctx.db, job.id, destinationIds),
      platformLogInsert(ctx, { severity: "Information", message: `Backup job "${job.name}" created.`, agentId: agent.id, backupJobId: job.id }),
    ]),
  );
  await resyncJobs(ctx, [job.id]);
  return job;
}

/**
 * The encryption columns after a change: a new passphrase is sealed; enabling without one keeps the
 * stored one, unless the job moves to another agent: the stored passphrase was given for its old agent
 * only (write-only means no other agent may receive it), so a move needs the passphrase again.
 */
async function encryptionColumns(ctx: ServiceContext, job: BackupJobRow, encryption: BackupJobChanges["encryption"], agentId: string | null) {
  const binding = SECRET_BINDINGS.passphrase(job.id, agentId);
  if (encryption && !encryption.enabled) return { encryptionEnabled: false, sealedPassphrase: null };
  if (encryption?.passphrase) return { encryptionEnabled: true, sealedPassphrase: await sealSecret(ctx.env, encryption.passphrase, binding) };
  if (agentId !== job.agentId && (encryption?.enabled || job.encryptionEnabled)) {
    throw badRequest("encryption.passphrase is required again when an encrypted backup job moves to another agent.", [
      { path: "encryption.passphrase", message: "Required when agentId changes on an encrypted job." },
    ]);
  }
  // A release-1 passphrase (sealed unbound) is bound to its job and agent on this write.
  const kept = job.sealedPassphrase ? { sealedPassphrase: await resealIfUnbound(ctx.env, job.sealedPassphrase, binding) } : {};
  if (!encryption) return kept;
  if (!job.sealedPassphrase) {
    throw badRequest("encryption.passphrase of at least 12 characters is required when encryption is enabled.", [
      { path: "encryption.passphrase", message: "Required when encryption is enabled." },
    ]);
  }
  return { encryptionEnabled: true, ...kept };
}

/** Partial update: only the fields sent change, checked against the job's (possibly new) agent; then re-synced. */
export async function updateJob(ctx: ServiceContext, jobId: string, changes: BackupJobChanges): Promise<BackupJobDetail> {
  const before = await getJobDetail(ctx, jobId);
  const job = before.job;
  const agentId = changes.agentId ?? job.agentId;
  if (changes.agentId && changes.agentId !== job.agentId) await requireOwnAgent(ctx, changes.agentId);
  const isEnabled = changes.isEnabled ?? job.isEnabled;
  if (!agentId && changes.isEnabled) {
    throw badRequest("This backup job has no agent (its agent was deleted); give it an agentId before enabling it.");
  }
  const databaseIds = changes.databaseIds ? unique(changes.databaseIds) : before.databases.map((d) => d.databaseId);
  const destinationIds = changes.destinationIds ? unique(changes.destinationIds) : before.destinations.map((d) => d.destinationId);
  if (agentId && databaseIds.length === 0) {
    throw badRequest("databaseIds must contain at least one id.", [{ path: "databaseIds", message: "At least one database is required." }]);
  }
  await checkReferences(ctx, agentId, databaseIds, destinationIds);
  const schedules = changes.schedules ?? job.schedules;
  // A job that is already wrong (made before its agent reported what it can do) can still be renamed or disabled.
  const agentChanged = agentId !== job.agentId;
  await checkCapabilities(ctx, agentId, {
    ...(agentChanged || changes.schedules || changes.databaseIds ? { databaseIds, schedules } : {}),
    ...(agentChanged || changes.destinationIds ? { destinationIds } : {}),
  });
  const columns = {
    name: changes.name ?? job.name,
    agentId,
    isEnabled: agentId ? isEnabled : false,
    schedules,
    // Times before this change are not held against the job: it is next due at its first time after now.
    nextDueAt: nextDueAt(schedules, Boolean(agentId) && isEnabled, ctx.now),
    retentionDays: changes.retentionDays ?? job.retentionDays,
    verification: changes.verification === undefined ? job.verification : changes.verification,
    ...(await encryptionColumns(ctx, job, changes.encryption, agentId)),
    updatedAt: ctx.now,
  };
  const replaceLinks: BatchItem<"sqlite">[] = [];
  if (changes.databaseIds) {
    replaceLinks.push(ctx.db.delete(backupJobDatabases).where(eq(backupJobDatabases.backupJobId, jobId)));
    replaceLinks.push(databaseLinks(ctx.db, jobId, databaseIds));
  }
  if (changes.destinationIds) {
    replaceLinks.push(ctx.db.delete(backupJobDestinations).where(eq(backupJobDestinations.backupJobId, jobId)));
    replaceLinks.push(destinationLinks(ctx.db, jobId, destinationIds));
  }
  await ctx.db.batch([
    ctx.db.update(backupJobs).set(columns).where(eq(backupJobs.id, jobId)),
    ...replaceLinks,
    platformLogInsert(ctx, { severity: "Information", message: `Backup job "${columns.name}" updated.`, agentId, backupJobId: jobId }),
  ]);
  if (job.agentId && job.agentId !== agentId) {
    await sendAgentCommand(ctx.env, job.agentId, { type: "job.delete", backupJobId: jobId });
  }
  const after = await getJobDetail(ctx, jobId);
  await syncJob(ctx, after);
  return after;
}

/** Deletes the job and its links; its runs and files stay in the history. The agent drops it from its schedule. */
export async function deleteJob(ctx: ServiceContext, jobId: string): Promise<void> {
  const job = await findJob(ctx.db, ctx.subscriberId, jobId);
  await ctx.db.batch([
    ctx.db.delete(backupJobs).where(eq(backupJobs.id, jobId)),
    platformLogInsert(ctx, { severity: "Information", message: `Backup job "${job.name}" deleted.`, agentId: job.agentId, backupJobId: jobId }),
  ]);
  if (job.agentId) await sendAgentCommand(ctx.env, job.agentId, { type: "job.delete", backupJobId: jobId });
}

/** The `job.upsert` payload: everything the agent needs to run the job on its own, passphrase included. */
async function agentJob(env: Env, detail: BackupJobDetail): Promise<AgentJob> {
  const { job } = detail;
  // Bound to the agent it was given for: opening it for any other agent throws.
  const passphrase =
    job.encryptionEnabled && job.sealedPassphrase ? await openSecret(env, job.sealedPassphrase, SECRET_BINDINGS.passphrase(job.id, job.agentId)) : null;
  return {
    backupJobId: job.id,
    name: job.name,
    isEnabled: job.isEnabled,
    schedules: job.schedules,
    retentionDays: job.retentionDays,
    databases: detail.databases,
    destinations: detail.destinations as AgentJob["destinations"],
    encryption: { enabled: job.encryptionEnabled, algorithm: job.encryptionEnabled ? "AES-256" : null, passphrase },
  };
}

/** Sends a job's state to its agent as `job.upsert` (queued until the agent acknowledges it). */
async function syncJob(ctx: ServiceContext, detail: BackupJobDetail): Promise<void> {
  if (!detail.job.agentId) return;
  await sendAgentCommand(ctx.env, detail.job.agentId, { type: "job.upsert", job: await agentJob(ctx.env, detail) });
}

/** Sends each job's current state to its agent as `job.upsert`. */
export async function resyncJobs(ctx: ServiceContext, jobIds: string[]): Promise<void> {
  for (const jobId of jobIds) await syncJob(ctx, await getJobDetail(ctx, jobId));
}

/** `POST /api/backupjob/{id}/run`: a Queued run and a `backup.run` command, only for an enabled job whose agent is online. */
export async function triggerRun(ctx: ServiceContext, jobId: string, backupMode: BackupMode = "Full"): Promise<string> {
  const job = await findJob(ctx.db, ctx.subscriberId, jobId);
  if (!job.agentId) throw badRequest("Backup job has no agent (its agent was deleted); assign an agent first.");
  if (!job.isEnabled) throw badRequest("Backup job is disabled.");
  const [agent, jobEngines] = await Promise.all([
    ctx.db.query.agents.findFirst({ where: eq(agents.id, job.agentId) }),
    enginesOf(ctx, { backupJobId: jobId }),
  ]);
  assertModesSupported(jobEngines, [{ backupMode, path: "backupMode" }]);
  if (!agent?.isOnline) throw badRequest("Agent is offline: the backup cannot be triggered until it reconnects.");
  const backupRunId = crypto.randomUUID();
  await ctx.db.insert(backupRuns).values({
    id: backupRunId,
    subscriberId: ctx.subscriberId,
    backupJobId: jobId,
    agentId: job.agentId,
    backupMode,
    trigger: "Manual",
    status: "Queued",
    createdAt: ctx.now,
  });
  await sendAgentCommand(ctx.env, job.agentId, { type: "backup.run", backupRunId, backupJobId: jobId, backupMode });
  return backupRunId;
}
