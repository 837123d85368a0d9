import { randomUUID } from "node:crypto";
import type { RunTrigger } from "../../src/domain/backup.ts";
import type { LogSeverity } from "../../src/domain/log.ts";
import type { AgentJob } from "../../src/protocol/agent-protocol.ts";
import { backupDatabase, type ChainLink } from "./backup.ts";
import { createDestination } from "./destinations/index.ts";
import type { Destination } from "./destinations/destination.ts";
import { assertCapable, type Engine } from "./engines/engine.ts";
import type { Compression } from "./pipeline/compression.ts";
import type { EncryptOptions } from "./pipeline/encryption.ts";
import { expiredFiles } from "./retention.ts";
import type { AgentStore, ChainState, WrittenFile } from "./state.ts";
import type { BackupMode } from "./types.ts";

type PlannedDatabase = { database: AgentJob["databases"][number]; engine: Engine };

export interface RunnerContext {
  store: AgentStore;
  engines: Engine[];
  compression: Compression;
  now: () => Date;
  /** Puts a frame in the outbox and sends it when connected. */
  send: (frame: { id: string; type: string } & Record<string, unknown>) => void;
  /** A log line for the platform (and the local console). */
  report: (severity: LogSeverity, message: string, backupJobId?: string) => void;
  encryptOptions?: EncryptOptions;
  progressIntervalMs?: number;
  /** Where physical backups are staged before they are streamed (agent.json's tempDirectory). */
  stagingDirectory?: string;
}

type CompletedFile = {
  databaseId: string;
  destinationId: string;
  fileName: string;
  fileSize: number;
  checksum: string;
  backupMode: BackupMode;
  baseFileName?: string | null;
  /** The database's tables and rows right after the dump, for drills to compare (absent if counting failed). */
  tables?: number;
  rows?: number;
};

/** Exact counts of the database just backed up; a failure to count never fails the backup. */
async function countsAtBackup(engine: Engine, database: string): Promise<{ tables: number; rows: number } | Record<string, never>> {
  try {
    return (await engine.countDatabase?.(database)) ?? {};
  } catch {
    return {};
  }
}

const errorText = (error: unknown) => ((error as Error)?.message || String(error)).slice(0, 10_000);

/**
 * Runs backup jobs: one run per job at a time, each reported started → completed/failed through the
 * outbox. The run row in the store lets a restarted agent report a run it was killed in the middle of.
 */
export class JobRunner {
  private readonly context: RunnerContext;
  private readonly running = new Map<string, Promise<void>>();

  constructor(context: RunnerContext) {
    this.context = context;
  }

  isRunning(backupJobId: string): boolean {
    return this.running.has(backupJobId);
  }

  /** Resolves when every run in progress has ended. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  private sendFailed(backupRunId: string, error: string): void {
    this.context.send({ type: "backup.failed", id: randomUUID(), backupRunId, finishedUtc: this.context.now().toISOString(), error });
  }

  /** Runs that were in progress when the agent last stopped cannot finish: report them failed once. */
  reportInterruptedRuns(): void {
    const { store } = this.context;
    for (const run of store.runsInProgress()) {
      store.transaction(() => {
        this.sendFailed(run.backupRunId, "The agent stopped during this run; it was not completed.");
        store.endRun(run.backupRunId);
      });
    }
  }

  /** Starts a run in the background. A job already running is not started twice. */
  trigger(args: { backupJobId: string; mode: BackupMode; trigger: RunTrigger; backupRunId?: string }): void {
    const { store } = this.context;
    const job = store.job(args.backupJobId);
    const backupRunId = args.backupRunId ?? randomUUID();
    if (!job) {
      this.sendFailed(backupRunId, `Backup job ${args.backupJobId} is not known to this agent.`);
      return;
    }
    if (this.running.has(job.backupJobId)) {
      this.context.report("Warning", `Backup job "${job.name}" is still running; this ${args.trigger === "Schedule" ? "scheduled" : "manual"} ${args.mode} run was skipped.`, job.backupJobId);
      if (args.backupRunId) {
        // The platform queued this run: close it so it does not wait for a start that never comes.
        this.sendFailed(backupRunId, "Skipped: a run of this job was already in progress.");
      }
      return;
    }
    const run = this.run(job, args.mode, args.trigger, backupRunId).finally(() => this.running.delete(job.backupJobId));
    this.running.set(job.backupJobId, run);
  }

  /** Each of the job's databases with the configured engine that backs it up in `mode`. */
  private async planDatabases(job: AgentJob, mode: BackupMode): Promise<PlannedDatabase[]> {
    const plan = job.databases.map((database) => {
      const engine = this.context.engines.find((candidate) => candidate.engineKey === database.engineKey);
      if (!engine) throw new Error(`Database "${database.name}": engine "${database.engineKey}" is not configured in this agent's agent.json.`);
      return { database, engine };
    });
    for (const { engine } of plan) await assertCapable(engine, mode);
    if (plan.length === 0) throw new Error("The job has no databases.");
    return plan;
  }

  private async run(job: AgentJob, mode: BackupMode, trigger: RunTrigger, backupRunId: string): Promise<void> {
    const { store, now, send, report } = this.context;
    const startedAt = now();
    store.transaction(() => {
      store.beginRun(backupRunId, job.backupJobId, startedAt);
      send({ type: "backup.started", id: randomUUID(), backupRunId, backupJobId: job.backupJobId, backupMode: mode, trigger, startedUtc: startedAt.toISOString() });
    });
    report("Information", `Backup job "${job.name}": ${mode} backup started (${trigger}).`, job.backupJobId);
    const destinations: Destination[] = [];
    try {
      const plan = await this.planDatabases(job, mode);
      for (const spec of job.destinations) destinations.push(createDestination(spec, store));
      if (destinations.length === 0) throw new Error("The job has no destinations.");
      const passphrase = job.encryption.enabled ? job.encryption.passphrase ?? undefined : undefined;
      if (job.encryption.enabled && !passphrase) throw new Error("Encryption is enabled but no passphrase was received.");
      const { files, chains, bytes } = await this.backupDatabases(job, plan, { mode, startedAt, backupRunId, destinations, passphrase });
      const finishedAt = now();
      store.transaction(() => {
        for (const file of files) store.recordWrittenFile(job.backupJobId, file, finishedAt);
        for (const { databaseId, ...chain } of chains) store.saveChain(job.backupJobId, databaseId, chain);
        send({ type: "backup.completed", id: randomUUID(), backupRunId, finishedUtc: finishedAt.toISOString(), files });
        store.endRun(backupRunId);
      });
      report("Information", `Backup job "${job.name}": ${mode} backup succeeded, ${files.length} file(s), ${bytes} bytes.`, job.backupJobId);
      await this.applyRetention(job, destinations, finishedAt);
    } catch (error) {
      store.transaction(() => {
        this.sendFailed(backupRunId, errorText(error));
        store.endRun(backupRunId);
      });
      report("Error", `Backup job "${job.name}": ${mode} backup failed: ${errorText(error)}`, job.backupJobId);
    } finally {
      await Promise.allSettled(destinations.map((destination) => destination.close()));
    }
  }

  /**
   * Backs up the databases one after another to every destination, sending `backup.progress` as bytes
   * flow: the files to report and the chains' new state.
   */
  private async backupDatabases(
    job: AgentJob,
    plan: PlannedDatabase[],
    run: { mode: BackupMode; startedAt: Date; backupRunId: string; destinations: Destination[]; passphrase: string | undefined },
  ): Promise<{ files: CompletedFile[]; chains: ({ databaseId: string } & ChainState)[]; bytes: number }> {
    const { send, store } = this.context;
    const { mode } = run;
    const files: CompletedFile[] = [];
    const chains: ({ databaseId: string } & ChainState)[] = [];
    let bytesBefore = 0;
    let lastProgress = Date.now();
    for (const { database, engine } of plan) {
      const chain = await this.chainLink(job, database, engine, mode);
      const result = await backupDatabase({
        chain,
        engine,
        database: database.name,
        mode,
        startedAt: run.startedAt,
        destinations: run.destinations,
        compression: this.context.compression,
        passphrase: run.passphrase,
        encryptOptions: this.context.encryptOptions,
        onBytes: (total) => {
          if (Date.now() - lastProgress < (this.context.progressIntervalMs ?? 5000)) return;
          lastProgress = Date.now();
          send({ type: "backup.progress", id: randomUUID(), backupRunId: run.backupRunId, bytesDone: bytesBefore + total });
        },
      });
      bytesBefore += result.fileSize;
      const { position, ...written } = result;
      const baseFileName = chain && mode !== "Full" ? { baseFileName: chain.baseFileName } : {};
      const counts = await countsAtBackup(engine, database.name);
      for (const destination of job.destinations) {
        files.push({ databaseId: database.databaseId, destinationId: destination.destinationId, ...written, backupMode: mode, ...baseFileName, ...counts });
      }
      if (chain && position) {
        const fullFileName = mode === "Full" ? result.fileName : store.chain(job.backupJobId, database.databaseId)!.fullFileName;
        chains.push({ databaseId: database.databaseId, fullFileName, lastFileName: result.fileName, position });
      }
    }
    return { files, chains, bytes: bytesBefore };
  }

  /**
   * A physical backup's place in the job's chain for this database, or undefined for a logical dump:
   * physical when the mode needs it, or for a Full when the job also schedules modes the engine makes.
   */
  private async chainLink(job: AgentJob, database: AgentJob["databases"][number], engine: Engine, mode: BackupMode): Promise<ChainLink | undefined> {
    if (!engine.stageChainBackup) return undefined;
    const { backupModes } = await engine.capabilities();
    const chained = mode !== "Full" || job.schedules.some((schedule) => schedule.backupMode !== "Full" && backupModes.includes(schedule.backupMode));
    if (!chained) return undefined;
    const chain = this.context.store.chain(job.backupJobId, database.databaseId);
    if (mode !== "Full" && !chain) {
      throw new Error(`Database "${database.name}": a ${mode} backup builds on a physical Full of this job, and there is none yet: run a Full first.`);
    }
    return {
      chainKey: `${job.backupJobId}/${database.databaseId}`,
      // A Differential holds every change since the Full; a log continues the chain's last backup.
      baseFileName: mode === "Full" ? null : mode === "Differential" ? chain!.fullFileName : chain!.lastFileName,
      previous: chain?.position,
      stagingRoot: this.context.stagingDirectory,
    };
  }

  /**
   * Before a job is forgotten: lets each engine free what the job's chains hold on its server. A failure
   * is reported, not thrown: the job is deleted anyway.
   */
  async releaseChains(backupJobId: string): Promise<void> {
    const { store, report } = this.context;
    const job = store.job(backupJobId);
    for (const { databaseId, position } of store.chains(backupJobId)) {
      const engineKey = job?.databases.find((database) => database.databaseId === databaseId)?.engineKey;
      const engine = this.context.engines.find((candidate) => candidate.engineKey === engineKey);
      try {
        await engine?.releaseChain?.(position);
      } catch (error) {
        report("Warning", `Backup job ${backupJobId}: could not release its backup chain on engine "${engineKey}": ${errorText(error)}`, backupJobId);
      }
    }
  }

  /**
   * Deletes this job's own files older than retentionDays from each destination it still uses, except
   * those a retained file or the chain's next backup builds on. Each removal is reported once, as its own
   * `files.deleted` frame through the outbox; returns the files it removed.
   */
  async applyRetention(job: AgentJob, destinations: Destination[], now: Date): Promise<WrittenFile[]> {
    const { store, report, send } = this.context;
    const cutoff = new Date(now.getTime() - job.retentionDays * 86_400_000);
    const removed: WrittenFile[] = [];
    for (const file of expiredFiles(store.writtenFiles(job.backupJobId), cutoff, store.chainHeads(job.backupJobId))) {
      const destination = destinations.find((candidate) => candidate.spec.destinationId === file.destinationId);
      if (!destination) continue; // no longer one of the job's destinations: left alone
      try {
        await destination.remove(file.fileName);
        const gone: WrittenFile = { destinationId: file.destinationId, fileName: file.fileName };
        // Forgotten and reported together: a crash cannot leave a removed file unreported.
        store.transaction(() => {
          store.forgetWrittenFile(gone);
          send({ type: "files.deleted", id: randomUUID(), files: [gone], reason: "retention" });
        });
        removed.push(gone);
        report("Information", `Backup job "${job.name}": retention removed ${file.fileName} from "${destination.spec.name}".`, job.backupJobId);
      } catch (error) {
        report("Warning", `Backup job "${job.name}": retention could not remove ${file.fileName} from "${destination.spec.name}": ${errorText(error)}`, job.backupJobId);
      }
    }
    return removed;
  }
}
