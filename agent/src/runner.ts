import { randomUUID } from "node:crypto";
import type { RunTrigger } from "../../src/domain/backup.ts";
import type { LogSeverity } from "../../src/domain/log.ts";
import type { AgentJob } from "../../src/protocol/agent-protocol.ts";
import { backupDatabase } from "./backup.ts";
import { createDestination } from "./destinations/index.ts";
import type { Destination } from "./destinations/destination.ts";
import type { Engine } from "./engines/engine.ts";
import type { Compression } from "./pipeline/compression.ts";
import type { EncryptOptions } from "./pipeline/encryption.ts";
import type { AgentStore } from "./state.ts";
import type { BackupMode } from "./types.ts";


type PlannedDatabase = { database: AgentJob["databases"][number]; engine: Engine };
type WrittenFile = { databaseId: string; destinationId: string; fileName: string; fileSize: number; checksum: string };

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
  private planDatabases(job: AgentJob, mode: BackupMode): PlannedDatabase[] {
    const plan = job.databases.map((database) => {
      const engine = this.context.engines.find((candidate) => candidate.engineKey === database.engineKey);
      if (!engine) throw new Error(`Database "${database.name}": engine "${database.engineKey}" is not configured in this agent's agent.json.`);
      engine.assertModeSupported(mode);
      return { database, engine };
    });
    if (plan.length === 0) throw new Error("The job has no databases.");
    return plan;
  }

  /** Backs up the databases one after another to every destination, sending `backup.progress` as bytes flow. */
  private async backupDatabases(job: AgentJob, plan: PlannedDatabase[], run: { mode: BackupMode; startedAt: Date; backupRunId: string; destinations: Destination[]; passphrase: string | undefined }) {
    const files: WrittenFile[] = [];
    let bytesBefore = 0;
    let lastProgress = Date.now();
    for (const { database, engine } of plan) {
      const result = await backupDatabase({
        engine,
        database: database.name,
        mode: run.mode,
        startedAt: run.startedAt,
        destinations: run.destinations,
        compression: this.context.compression,
        passphrase: run.passphrase,
        encryptOptions: this.context.encryptOptions,
        onBytes: (total) => {
          if (Date.now() - lastProgress < (this.context.progressIntervalMs ?? 5000)) return;
          lastProgress = Date.now();
          this.context.send({ type: "backup.progress", id: randomUUID(), backupRunId: run.backupRunId, bytesDone: bytesBefore + total });
        },
      });
      bytesBefore += result.fileSize;
      for (const destination of job.destinations) {
        files.push({ databaseId: database.databaseId, destinationId: destination.destinationId, ...result });
      }
    }
    return { files, bytesBefore };
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
      const plan = this.planDatabases(job, mode);
      for (const spec of job.destinations) destinations.push(createDestination(spec, store));
      if (destinations.length === 0) throw new Error("The job has no destinations.");
      const passphrase = job.encryption.enabled ? job.encryption.passphrase ?? undefined : undefined;
      if (job.encryption.enabled && !passphrase) throw new Error("Encryption is enabled but no passphrase was received.");
      const { files, bytesBefore } = await this.backupDatabases(job, plan, { mode, startedAt, backupRunId, destinations, passphrase });
      const finishedAt = now();
      store.transaction(() => {
        for (const file of files) store.recordWrittenFile(job.backupJobId, file, finishedAt);
        send({ type: "backup.completed", id: randomUUID(), backupRunId, finishedUtc: finishedAt.toISOString(), files });
        store.endRun(backupRunId);
      });
      report("Information", `Backup job "${job.name}": ${mode} backup succeeded, ${files.length} file(s), ${bytesBefore} bytes.`, job.backupJobId);
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

  /** Deletes this job's own files older than retentionDays from each destination it still uses. */
  private async applyRetention(job: AgentJob, destinations: Destination[], now: Date): Promise<void> {
    const { store, report, send } = this.context;
    const cutoff = new Date(now.getTime() - job.retentionDays * 86_400_000);
    for (const file of store.writtenFilesBefore(job.backupJobId, cutoff)) {
      const destination = destinations.find((candidate) => candidate.spec.destinationId === file.destinationId);
      if (!destination) continue; // no longer one of the job's destinations: left alone
      try {
        await destination.remove(file.fileName);
        // Forgotten and reported together: a crash cannot leave a removed file unreported.
        store.transaction(() => {
          store.forgetWrittenFile(file);
          send({ type: "files.deleted", id: randomUUID(), files: [{ destinationId: file.destinationId, fileName: file.fileName }], reason: "retention" });
        });
        report("Information", `Backup job "${job.name}": retention removed ${file.fileName} from "${destination.spec.name}".`, job.backupJobId);
      } catch (error) {
        report("Warning", `Backup job "${job.name}": retention could not remove ${file.fileName} from "${destination.spec.name}": ${errorText(error)}`, job.backupJobId);
      }
    }
  }
}
