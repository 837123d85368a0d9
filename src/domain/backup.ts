/**
 * Backup words, defined once: the D1 schema, the REST schemas, the OpenAPI document, the agent protocol
 * and the agent program all derive from these lists. No imports, so Worker and agent (Node) share it.
 */

/** How much a run copies: everything, changes since the last Full, or the transaction log. */
export const BACKUP_MODES = ["Full", "Differential", "TransactionLog"] as const;
export type BackupMode = (typeof BACKUP_MODES)[number];

/** What started a run: POST /api/backupjob/{id}/run, or the agent's own scheduler. */
export const RUN_TRIGGERS = ["Manual", "Schedule"] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

/** A run's life: queued by the platform, running on the agent, then one of the two outcomes. */
export const RUN_STATUSES = ["Queued", "Running", "Success", "Failed"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** The outcomes: a run in one of these changes no more. */
export const FINISHED_RUN_STATUSES = ["Success", "Failed"] as const satisfies readonly RunStatus[];

/** A recorded backup file: still at its destination, or removed from it (the agent's retention reported it). */
export const BACKUP_FILE_STATUSES = ["Available", "Deleted"] as const;
export type BackupFileStatus = (typeof BACKUP_FILE_STATUSES)[number];
