import { z } from "@hono/zod-openapi";
import { PaginationQuerySchema } from "../../http/pagination";
import { BACKUP_FILE_STATUSES, BACKUP_MODES } from "../../domain/backup";

const instant = (name: string, description: string) =>
  z.iso
    .datetime({ offset: true, error: `${name} must be an ISO 8601 date-time such as 2026-03-26T00:00:00Z.` })
    .transform((value) => new Date(value))
    .optional()
    .openapi({ param: { name, in: "query" }, description, example: "2026-03-26T00:00:00Z" });

const STATUS_FILTERS = [...BACKUP_FILE_STATUSES, "all"] as const;

export const BackupFileQuerySchema = PaginationQuerySchema.extend({
  status: z
    .enum(STATUS_FILTERS, { error: `status must be one of ${STATUS_FILTERS.join(", ")}.` })
    .optional()
    .openapi({ param: { name: "status", in: "query" }, description: "Available (the default), Deleted (removed by the agent's retention) or all" }),
  backupJobId: z.string().min(1).optional().openapi({ param: { name: "backupJobId", in: "query" }, description: "Only this job's files" }),
  from: instant("from", "Files created at or after this time"),
  to: instant("to", "Files created at or before this time"),
});

export const BackupFileSummarySchema = z
  .object({
    backupFileId: z.string(),
    backupJobId: z.string(),
    fileName: z.string(),
    fileSize: z.number().int(),
    checksum: z.string().openapi({ example: "sha256:ab12cd34..." }),
    dateCreated: z.string(),
    backupMode: z.enum(BACKUP_MODES),
    baseBackupFileId: z.string().nullable().openapi({ description: "For a Differential or TransactionLog file: the file it builds on (restores apply the chain from its Full)." }),
    status: z.enum(BACKUP_FILE_STATUSES).openapi({ description: "Deleted once the agent reports it removed the file from its destination (retention)." }),
    deletedUtc: z.string().nullable(),
  })
  .openapi("BackupFileSummary");

export const BackupFileSchema = BackupFileSummarySchema.extend({
  backupRunId: z.string(),
  databaseId: z.string(),
  destinationId: z.string(),
}).openapi("BackupFile");

export const BackupFileIdParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
