import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { agents, databases } from "./agent";
import { id, timestamp } from "./columns";
import { subscriberIdColumn } from "./identity";
import { BACKUP_FILE_STATUSES, BACKUP_MODES, type BackupMode, RUN_STATUSES, RUN_TRIGGERS } from "../../domain/backup";
import { CREDENTIAL_TYPES, DESTINATION_TYPES } from "../../domain/destination";

export {
  BACKUP_FILE_STATUSES,
  BACKUP_MODES,
  RUN_STATUSES,
  RUN_TRIGGERS,
  type BackupFileStatus,
  type BackupMode,
  type RunStatus,
  type RunTrigger,
} from "../../domain/backup";
export { CREDENTIAL_TYPES, DESTINATION_TYPES, type CredentialType, type DestinationType } from "../../domain/destination";

/** Scheduled verification drills of a job: the platform queues `verify.run` at each time of the cron (UTC). */
export interface VerificationSchedule {
  enabled: boolean;
  cronExpression: string;
}

export interface JobSchedule {
  backupMode: BackupMode;
  cronExpression: string;
}

/**
 * Secrets an agent uses to reach engines and storage. The whole credential object (`$type` and its
 * fields) is sealed with AES-256-GCM; only name, type and owner are readable.
 */
export const credentials = sqliteTable(
  "credentials",
  {
    id: id(),
    subscriberId: subscriberIdColumn(),
    // The agent that stores it; deleting the agent leaves the reference without an owner.
    agentId: text("agent_id").references(() => agents.id, { onDelete: "set null" }),
    name: text("name").notNull(),
    type: text("type", { enum: CREDENTIAL_TYPES }).notNull(),
    sealedCredential: text("sealed_credential").notNull(),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [index("credentials_subscriber_created_idx").on(t.subscriberId, t.createdAt), index("credentials_agent_idx").on(t.agentId)],
);

export const destinations = sqliteTable(
  "destinations",
  {
    id: id(),
    subscriberId: subscriberIdColumn(),
    agentId: text("agent_id").references(() => agents.id, { onDelete: "set null" }),
    name: text("name").notNull(),
    type: text("type", { enum: DESTINATION_TYPES }).notNull(),
    /** Non-secret settings validated per type (bucket, path, host …); secrets live in the credential. */
    settings: text("settings", { mode: "json" }).notNull().$type<Record<string, unknown>>(),
    // No cascade: a credential in use cannot be deleted (checked with a clear 400 before this guard).
    credentialId: text("credential_id").references(() => credentials.id),
    createdAt: timestamp("created_at").notNull(),
    updatedAt: timestamp("updated_at").notNull(),
  },
  (t) => [
    index("destinations_subscriber_created_idx").on(t.subscriberId, t.createdAt),
    index("destinations_credential_idx").on(t.credentialId),
    index("destinations_agent_idx").on(t.agentId),
  ],
);

export const backupJobs = sqliteTable(
  "backup_jobs",
  {
    id: id(),
    subscriberId: subscriberIdColumn(),
    /** Null once its agent is deleted: the job is then orphaned and disabled. */
    agentId: text("agent_id").references(() => agents.id, { onDelete: "set null" }),
    name: text("name").notNull(),
    isEnabled: integer("is_enabled", { mode: "boolean" }).notNull(),
    schedules: text("schedules", { mode: "json" }).notNull().$type<JobSchedule[]>(),
    retentionDays: integer("retention_days").notNull(),
    encryptionEnabled: integer("encryption_enabled", { mode: "boolean" }).notNull(),
    /** The encryption passphrase, sealed with AES-256-GCM; null when encryption is off. */
    sealedPassphrase: text("sealed_passphrase"),
    verification: text("verification", { mode: "json" }).$type<VerificationSchedule>(),
    lastStatus: text("last_status", { enum: RUN_STATUSES }),
    lastRunUtc: timestamp("last_run_utc"),
    /**
     * The earliest scheduled time the missed-schedule sweep has not checked yet, set with croner when the
     * job is saved and moved on by the sweep; null when the job has no schedule. A row written without it
     * gets 0 ("due now"): the next sweep computes it.
     */
    nextDueAt: timestamp("next_due_at").default(sql`0`),
    createdAt: timestamp("created_at").notNull(),
    updatedAt: timestamp("updated_at").notNull(),
  },
  (t) => [
    index("backup_jobs_subscriber_created_idx").on(t.subscriberId, t.createdAt, t.id),
    index("backup_jobs_agent_idx").on(t.agentId),
    // The minute sweep reads only enabled jobs that are due, oldest due first.
    index("backup_jobs_due_idx").on(t.isEnabled, t.nextDueAt, t.id),
  ],
);

/** The databases a job backs up (all on the job's agent). Dropped with the job or the database. */
export const backupJobDatabases = sqliteTable(
  "backup_job_databases",
  {
    backupJobId: text("backup_job_id")
      .notNull()
      .references(() => backupJobs.id, { onDelete: "cascade" }),
    databaseId: text("database_id")
      .notNull()
      .references(() => databases.id, { onDelete: "cascade" }),
  },
  (t) => [primaryKey({ columns: [t.backupJobId, t.databaseId] }), index("backup_job_databases_database_idx").on(t.databaseId)],
);

/** The destinations a job writes to. A destination in use cannot be deleted (no cascade from it). */
export const backupJobDestinations = sqliteTable(
  "backup_job_destinations",
  {
    backupJobId: text("backup_job_id")
      .notNull()
      .references(() => backupJobs.id, { onDelete: "cascade" }),
    destinationId: text("destination_id")
      .notNull()
      .references(() => destinations.id),
  },
  (t) => [primaryKey({ columns: [t.backupJobId, t.destinationId] }), index("backup_job_destinations_destination_idx").on(t.destinationId)],
);

/**
 * One execution of a job. No foreign key to the job: history outlives a deleted job. `createdAt` is
 * when the platform first knew of the run (trigger or first report) and orders the history.
 */
export const backupRuns = sqliteTable(
  "backup_runs",
  {
    id: id(),
    subscriberId: text("subscriber_id").notNull(),
    backupJobId: text("backup_job_id").notNull(),
    agentId: text("agent_id").notNull(),
    backupMode: text("backup_mode", { enum: BACKUP_MODES }).notNull(),
    trigger: text("trigger", { enum: RUN_TRIGGERS }).notNull(),
    status: text("status", { enum: RUN_STATUSES }).notNull(),
    startedUtc: timestamp("started_utc"),
    finishedUtc: timestamp("finished_utc"),
    durationMs: integer("duration_ms"),
    totalSize: integer("total_size"),
    /** The agent's last `backup.progress` while it runs; the total size once it succeeded. */
    bytesDone: integer("bytes_done"),
    error: text("error"),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [
    // Newest first with `id` as the tie-break, so a page is read straight off the index.
    index("backup_runs_subscriber_job_created_idx").on(t.subscriberId, t.backupJobId, t.createdAt, t.id),
    // The sweep that fails triggered runs no agent started looks only at Queued rows, oldest first.
    index("backup_runs_status_created_idx").on(t.status, t.createdAt),
  ],
);

/** A file a successful run wrote to a destination, as the agent reported it. Kept after the job is deleted. */
export const backupFiles = sqliteTable(
  "backup_files",
  {
    id: id(),
    subscriberId: text("subscriber_id").notNull(),
    backupJobId: text("backup_job_id").notNull(),
    backupRunId: text("backup_run_id").notNull(),
    databaseId: text("database_id").notNull(),
    destinationId: text("destination_id").notNull(),
    fileName: text("file_name").notNull(),
    fileSize: integer("file_size").notNull(),
    /** `sha256:<hex>` */
    checksum: text("checksum").notNull(),
    backupMode: text("backup_mode", { enum: BACKUP_MODES }).notNull().default("Full"),
    /** For a Differential or TransactionLog file: the file (same job and destination) it builds on. */
    baseBackupFileId: text("base_backup_file_id"),
    status: text("status", { enum: BACKUP_FILE_STATUSES }).notNull().default("Available"),
    /** When the agent reported it removed the file (retention). */
    deletedUtc: timestamp("deleted_utc"),
    /** The database's tables and rows when the agent backed it up (1.1, optional): drills compare them. */
    tableCount: integer("table_count"),
    rowCount: integer("row_count"),
    dateCreated: timestamp("date_created").notNull(),
  },
  (t) => [
    // Lists are subscriber-first and ordered by (dateCreated, id) straight off an index: one index per
    // filter shape, with and without the status (the default list shows Available files only).
    index("backup_files_subscriber_created_idx").on(t.subscriberId, t.dateCreated, t.id),
    index("backup_files_subscriber_status_created_idx").on(t.subscriberId, t.status, t.dateCreated, t.id),
    index("backup_files_subscriber_job_created_idx").on(t.subscriberId, t.backupJobId, t.dateCreated, t.id),
    index("backup_files_subscriber_job_status_created_idx").on(t.subscriberId, t.backupJobId, t.status, t.dateCreated, t.id),
    index("backup_files_run_idx").on(t.backupRunId),
    // `files.deleted` and a file's base are found by where the file is: destination and name.
    index("backup_files_subscriber_destination_name_idx").on(t.subscriberId, t.destinationId, t.fileName),
    // Housekeeping finds files removed long ago by when they were removed.
    index("backup_files_status_deleted_idx").on(t.status, t.deletedUtc),
  ],
);
