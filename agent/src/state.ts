import { chmod, mkdir, readFile, rm, writeFile, open } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { AgentJob } from "../../src/protocol/agent-protocol.ts";
import type { Credential, CredentialLookup } from "./types.ts";

export interface Identity {
  server: string;
  agentId: string;
  agentToken: string;
  enrolledUtc: string;
  /** `enroll --name`; agent.json's displayName wins when set. */
  displayName?: string;
}

export class StateError extends Error {
  override name = "StateError";
}

export function defaultStateDir(): string {
  return process.env.DATASYNC_AGENT_STATE_DIR || join(homedir(), ".datasync-agent");
}

const IDENTITY_FILE = "identity.json";
const DATABASE_FILE = "agent.db";

/** Creates a file readable by this user only before anything secret is written to it. */
async function createPrivateFile(path: string): Promise<void> {
  const handle = await open(path, "a", 0o600);
  await handle.close();
  await chmod(path, 0o600);
}

export async function saveIdentity(stateDir: string, identity: Identity): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await chmod(stateDir, 0o700);
  const path = join(stateDir, IDENTITY_FILE);
  await createPrivateFile(path);
  await writeFile(path, JSON.stringify(identity, null, 2) + "\n", { mode: 0o600 });
}

export async function loadIdentity(stateDir: string): Promise<Identity> {
  let text: string;
  try {
    text = await readFile(join(stateDir, IDENTITY_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new StateError(`No agent state in ${stateDir}: run "datasync-agent enroll --server URL --token REG" first (or pass --state-dir).`);
    }
    throw error;
  }
  const identity = JSON.parse(text) as Identity;
  if (!identity.agentId || !identity.agentToken || !identity.server) throw new StateError(`${join(stateDir, IDENTITY_FILE)} is incomplete; enroll again.`);
  return identity;
}

export async function identityExists(stateDir: string): Promise<boolean> {
  return readFile(join(stateDir, IDENTITY_FILE)).then(() => true, () => false);
}

/** Forgets everything: used when the platform revokes the agent. */
export async function deleteState(stateDir: string): Promise<void> {
  for (const name of [IDENTITY_FILE, DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`, "status.json"]) await rm(join(stateDir, name), { force: true });
}

export interface OutboxEntry {
  id: string;
  frame: string;
}

export interface WrittenFile {
  destinationId: string;
  fileName: string;
}

/** A written file as retention sees it: when, and which file (same destination) it builds on. */
export interface StoredFile extends WrittenFile {
  baseFileName: string | null;
  writtenAt: number;
}

/** Where a job's physical chain for one database stands: what the next Differential and log build on. */
export interface ChainState {
  fullFileName: string;
  lastFileName: string;
  position: Record<string, unknown>;
}

/**
 * The agent's durable state in one SQLite file (mode 0600): the outbox of unacknowledged messages,
 * commands already applied, jobs and credentials received, files written (for retention) and runs
 * in progress (so a crash mid-run is still reported).
 */
/** SSH host keys seen on first use ("host:port" → "SHA256:…"), so a changed key is noticed. */
export interface KnownHosts {
  hostKey(host: string): string | undefined;
  rememberHostKey(host: string, fingerprint: string): void;
}

export class AgentStore implements CredentialLookup, KnownHosts {
  private readonly db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.db = db;
  }

  static async open(stateDir: string): Promise<AgentStore> {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const path = join(stateDir, DATABASE_FILE);
    await createPrivateFile(path);
    const db = new DatabaseSync(path);
    db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, frame TEXT NOT NULL, refusals INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS applied_commands (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS jobs (backup_job_id TEXT PRIMARY KEY, job TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS credentials (credential_reference_id TEXT PRIMARY KEY, credential TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS written_files (
        destination_id TEXT NOT NULL, file_name TEXT NOT NULL, backup_job_id TEXT NOT NULL, written_at INTEGER NOT NULL,
        PRIMARY KEY (destination_id, file_name));
      CREATE INDEX IF NOT EXISTS written_files_job ON written_files (backup_job_id, written_at);
      CREATE TABLE IF NOT EXISTS known_hosts (host TEXT PRIMARY KEY, fingerprint TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS runs (backup_run_id TEXT PRIMARY KEY, backup_job_id TEXT NOT NULL, started_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS chains (
        backup_job_id TEXT NOT NULL, database_id TEXT NOT NULL, full_file_name TEXT NOT NULL, last_file_name TEXT NOT NULL, position TEXT NOT NULL,
        PRIMARY KEY (backup_job_id, database_id));
    `);
    // Added with chains: state folders of earlier versions get the column (their files build on nothing).
    const columns = db.prepare("PRAGMA table_info(written_files)").all() as { name: string }[];
    if (!columns.some((column) => column.name === "base_file_name")) db.exec("ALTER TABLE written_files ADD COLUMN base_file_name TEXT");
    for (const suffix of ["-wal", "-shm"]) await chmod(`${path}${suffix}`, 0o600).catch(() => {});
    return new AgentStore(db);
  }

  close(): void {
    this.db.close();
  }

  /** Runs `work` in one SQLite transaction: its writes land together or not at all. */
  transaction<T>(work: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  // Outbox ------------------------------------------------------------------------------------------

  enqueue(frame: { id: string; type: string }): void {
    this.db.prepare("INSERT OR IGNORE INTO outbox (id, frame) VALUES (?, ?)").run(frame.id, JSON.stringify(frame));
  }

  pendingMessages(): OutboxEntry[] {
    return this.db.prepare("SELECT id, frame FROM outbox ORDER BY seq").all() as unknown as OutboxEntry[];
  }

  isPending(id: string): boolean {
    return this.db.prepare("SELECT 1 FROM outbox WHERE id = ?").get(id) !== undefined;
  }

  acknowledge(id: string): boolean {
    return Number(this.db.prepare("DELETE FROM outbox WHERE id = ?").run(id).changes) > 0;
  }

  /**
   * Counts a refusal (an `error` frame naming the message). A message refused this often is one the
   * platform will never take (say, a report on a job deleted meanwhile): it is dropped so it does not
   * come back on every reconnect. Returns the frame when it was dropped.
   */
  recordRefusal(id: string, maxRefusals: number): string | undefined {
    this.db.prepare("UPDATE outbox SET refusals = refusals + 1 WHERE id = ?").run(id);
    const row = this.db.prepare("SELECT frame FROM outbox WHERE id = ? AND refusals >= ?").get(id, maxRefusals) as { frame: string } | undefined;
    if (row) this.acknowledge(id);
    return row?.frame;
  }

  // Commands ----------------------------------------------------------------------------------------

  isApplied(commandId: string): boolean {
    return this.db.prepare("SELECT 1 FROM applied_commands WHERE id = ?").get(commandId) !== undefined;
  }

  markApplied(commandId: string, now: Date): void {
    this.db.prepare("INSERT OR IGNORE INTO applied_commands (id, applied_at) VALUES (?, ?)").run(commandId, now.getTime());
  }

  /** Command ids are kept 30 days: the platform redelivers only unacknowledged commands, and soon. */
  pruneAppliedCommands(now: Date): void {
    this.db.prepare("DELETE FROM applied_commands WHERE applied_at < ?").run(now.getTime() - 30 * 86_400_000);
  }

  // Jobs and credentials ----------------------------------------------------------------------------

  saveJob(job: AgentJob): void {
    this.db.prepare("INSERT INTO jobs (backup_job_id, job) VALUES (?, ?) ON CONFLICT DO UPDATE SET job = excluded.job").run(job.backupJobId, JSON.stringify(job));
  }

  deleteJob(backupJobId: string): void {
    this.db.prepare("DELETE FROM jobs WHERE backup_job_id = ?").run(backupJobId);
    this.db.prepare("DELETE FROM chains WHERE backup_job_id = ?").run(backupJobId);
  }

  job(backupJobId: string): AgentJob | undefined {
    const row = this.db.prepare("SELECT job FROM jobs WHERE backup_job_id = ?").get(backupJobId) as { job: string } | undefined;
    return row ? (JSON.parse(row.job) as AgentJob) : undefined;
  }

  jobs(): AgentJob[] {
    return (this.db.prepare("SELECT job FROM jobs ORDER BY backup_job_id").all() as { job: string }[]).map((row) => JSON.parse(row.job) as AgentJob);
  }

  saveCredential(credentialReferenceId: string, credential: Credential): void {
    this.db
      .prepare("INSERT INTO credentials (credential_reference_id, credential) VALUES (?, ?) ON CONFLICT DO UPDATE SET credential = excluded.credential")
      .run(credentialReferenceId, JSON.stringify(credential));
  }

  deleteCredential(credentialReferenceId: string): void {
    this.db.prepare("DELETE FROM credentials WHERE credential_reference_id = ?").run(credentialReferenceId);
  }

  get(credentialReferenceId: string): Credential | undefined {
    const row = this.db.prepare("SELECT credential FROM credentials WHERE credential_reference_id = ?").get(credentialReferenceId) as { credential: string } | undefined;
    return row ? (JSON.parse(row.credential) as Credential) : undefined;
  }

  credentialCount(): number {
    return Number((this.db.prepare("SELECT count(*) AS n FROM credentials").get() as { n: number }).n);
  }

  hostKey(host: string): string | undefined {
    return (this.db.prepare("SELECT fingerprint FROM known_hosts WHERE host = ?").get(host) as { fingerprint: string } | undefined)?.fingerprint;
  }

  rememberHostKey(host: string, fingerprint: string): void {
    this.db.prepare("INSERT OR REPLACE INTO known_hosts (host, fingerprint) VALUES (?, ?)").run(host, fingerprint);
  }

  forgetHostKey(host: string): boolean {
    return Number(this.db.prepare("DELETE FROM known_hosts WHERE host = ?").run(host).changes) > 0;
  }

  // Files written (retention) -----------------------------------------------------------------------

  recordWrittenFile(backupJobId: string, file: WrittenFile & { baseFileName?: string | null }, writtenAt: Date): void {
    this.db
      .prepare("INSERT OR REPLACE INTO written_files (destination_id, file_name, backup_job_id, written_at, base_file_name) VALUES (?, ?, ?, ?, ?)")
      .run(file.destinationId, file.fileName, backupJobId, writtenAt.getTime(), file.baseFileName ?? null);
  }

  writtenFiles(backupJobId: string): StoredFile[] {
    return this.db
      .prepare(
        "SELECT destination_id AS destinationId, file_name AS fileName, base_file_name AS baseFileName, written_at AS writtenAt FROM written_files WHERE backup_job_id = ? ORDER BY written_at",
      )
      .all(backupJobId) as unknown as StoredFile[];
  }

  forgetWrittenFile(file: WrittenFile): void {
    this.db.prepare("DELETE FROM written_files WHERE destination_id = ? AND file_name = ?").run(file.destinationId, file.fileName);
  }

  // Physical chains ---------------------------------------------------------------------------------

  chain(backupJobId: string, databaseId: string): ChainState | undefined {
    const row = this.db
      .prepare("SELECT full_file_name AS fullFileName, last_file_name AS lastFileName, position FROM chains WHERE backup_job_id = ? AND database_id = ?")
      .get(backupJobId, databaseId) as { fullFileName: string; lastFileName: string; position: string } | undefined;
    return row ? { ...row, position: JSON.parse(row.position) as Record<string, unknown> } : undefined;
  }

  chains(backupJobId: string): { databaseId: string; position: Record<string, unknown> }[] {
    const rows = this.db.prepare("SELECT database_id AS databaseId, position FROM chains WHERE backup_job_id = ?").all(backupJobId) as { databaseId: string; position: string }[];
    return rows.map((row) => ({ databaseId: row.databaseId, position: JSON.parse(row.position) as Record<string, unknown> }));
  }

  /** The files the job's chains will build on next: retention keeps them whatever their age. */
  chainHeads(backupJobId: string): Set<string> {
    const rows = this.db.prepare("SELECT full_file_name AS f, last_file_name AS l FROM chains WHERE backup_job_id = ?").all(backupJobId) as { f: string; l: string }[];
    return new Set(rows.flatMap((row) => [row.f, row.l]));
  }

  saveChain(backupJobId: string, databaseId: string, chain: ChainState): void {
    this.db
      .prepare("INSERT OR REPLACE INTO chains (backup_job_id, database_id, full_file_name, last_file_name, position) VALUES (?, ?, ?, ?, ?)")
      .run(backupJobId, databaseId, chain.fullFileName, chain.lastFileName, JSON.stringify(chain.position));
  }

  // Runs in progress --------------------------------------------------------------------------------

  beginRun(backupRunId: string, backupJobId: string, startedAt: Date): void {
    this.db.prepare("INSERT OR REPLACE INTO runs (backup_run_id, backup_job_id, started_at) VALUES (?, ?, ?)").run(backupRunId, backupJobId, startedAt.getTime());
  }

  endRun(backupRunId: string): void {
    this.db.prepare("DELETE FROM runs WHERE backup_run_id = ?").run(backupRunId);
  }

  runsInProgress(): { backupRunId: string; backupJobId: string }[] {
    return this.db.prepare("SELECT backup_run_id AS backupRunId, backup_job_id AS backupJobId FROM runs").all() as unknown as { backupRunId: string; backupJobId: string }[];
  }
}
