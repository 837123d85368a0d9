import { Cron } from "croner";
import type { AgentJob } from "../../src/protocol/agent-protocol.ts";
import type { BackupMode } from "./types.ts";

/** One croner timer per (job, schedule), in UTC; a disabled job has none. */
export class Scheduler {
  private readonly timers = new Map<string, Cron[]>();
  private readonly onTick: (backupJobId: string, mode: BackupMode) => void;

  constructor(onTick: (backupJobId: string, mode: BackupMode) => void) {
    this.onTick = onTick;
  }

  upsert(job: AgentJob): void {
    this.remove(job.backupJobId);
    if (!job.isEnabled) return;
    this.timers.set(
      job.backupJobId,
      job.schedules.map((schedule) => new Cron(schedule.cronExpression, { timezone: "UTC", catch: true }, () => this.onTick(job.backupJobId, schedule.backupMode))),
    );
  }

  remove(backupJobId: string): void {
    for (const timer of this.timers.get(backupJobId) ?? []) timer.stop();
    this.timers.delete(backupJobId);
  }

  /** The next time each scheduled mode fires, for `status`. */
  nextRuns(backupJobId: string): Date[] {
    return (this.timers.get(backupJobId) ?? []).map((timer) => timer.nextRun()).filter((date): date is Date => date !== null);
  }

  scheduledJobCount(): number {
    return this.timers.size;
  }

  stop(): void {
    for (const backupJobId of [...this.timers.keys()]) this.remove(backupJobId);
  }
}
