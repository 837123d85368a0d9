/**
 * What the running agent last knew (connection, engines, recent runs), kept in status.json in the state
 * directory so `datasync-agent status`, a separate process, can show it. Holds no secrets.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AgentObserver } from "./agent.ts";
import type { InventoryEngine } from "./engines/index.ts";

export const STATUS_FILE = "status.json";
const RECENT_RUNS = 10;

export interface RunSummary {
  backupRunId: string;
  backupJobId?: string;
  backupMode?: string;
  trigger?: string;
  startedUtc?: string;
  finishedUtc?: string;
  status: "Running" | "Success" | "Failed";
  files?: number;
  error?: string;
}

export interface LiveStatus {
  pid: number;
  version: string;
  updatedUtc: string;
  connection: { state: "connected" | "disconnected" | "connecting"; server?: string; sinceUtc: string; detail?: string };
  engines: InventoryEngine[];
  runs: RunSummary[];
}

export class LiveStatusFile implements AgentObserver {
  private readonly path: string;
  private readonly now: () => Date;
  private readonly status: LiveStatus;
  private writing: Promise<void> = Promise.resolve();

  constructor(stateDir: string, version: string, previous?: LiveStatus, now = () => new Date()) {
    this.path = join(stateDir, STATUS_FILE);
    this.now = now;
    const at = now().toISOString();
    this.status = { pid: process.pid, version, updatedUtc: at, connection: { state: "connecting", sinceUtc: at }, engines: previous?.engines ?? [], runs: previous?.runs ?? [] };
    this.save();
  }

  connected(server: string): void {
    this.status.connection = { state: "connected", server, sinceUtc: this.now().toISOString() };
    this.save();
  }

  disconnected(why: string): void {
    if (this.status.connection.state === "disconnected" && this.status.connection.detail === why) return;
    this.status.connection = { state: "disconnected", sinceUtc: this.now().toISOString(), detail: why };
    this.save();
  }

  inventory(engines: InventoryEngine[]): void {
    this.status.engines = engines;
    this.save();
  }

  report(frame: { type: string } & Record<string, unknown>): void {
    const backupRunId = String(frame.backupRunId ?? "");
    if (!backupRunId || frame.type === "backup.progress") return;
    const runs = this.status.runs;
    let run = runs.find((r) => r.backupRunId === backupRunId);
    if (!run) {
      run = { backupRunId, status: "Running" };
      runs.unshift(run);
      runs.splice(RECENT_RUNS);
    }
    if (frame.type === "backup.started") Object.assign(run, { backupJobId: frame.backupJobId, backupMode: frame.backupMode, trigger: frame.trigger, startedUtc: frame.startedUtc });
    if (frame.type === "backup.completed") Object.assign(run, { status: "Success", finishedUtc: frame.finishedUtc, files: (frame.files as unknown[]).length });
    if (frame.type === "backup.failed") Object.assign(run, { status: "Failed", finishedUtc: frame.finishedUtc, error: frame.error });
    this.save();
  }

  /** Written whole and renamed into place, one write at a time, so a reader never sees half a file. */
  private save(): void {
    this.status.updatedUtc = this.now().toISOString();
    const text = JSON.stringify(this.status, null, 2) + "\n";
    this.writing = this.writing
      .then(async () => {
        await writeFile(`${this.path}.tmp`, text, { mode: 0o600 });
        await rename(`${this.path}.tmp`, this.path);
      })
      .catch(() => {}); // status is a convenience: never let it stop the agent
  }

  flushed(): Promise<void> {
    return this.writing;
  }
}

export async function readLiveStatus(stateDir: string): Promise<LiveStatus | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, STATUS_FILE), "utf8")) as LiveStatus;
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote the status is still running (signal 0 only checks). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
