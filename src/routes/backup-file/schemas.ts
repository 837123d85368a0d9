import { z } from "@hono/zod-openapi";
import { PaginationQuerySchema } from "../../http/pagination";

const instant = (name: string, description: string) =>
  z.iso
    .datetime({ offset: true, error: `${name} must be an ISO 8601 date-time such as 2026-03-26T00:00:00Z.` })
    .transform((value) => new Date(value))
    .optional()
    .openapi({ param: { name, in: "query" }, description, example: "2026-03-26T00:00:00Z" });

export const BackupFileQuerySchema = PaginationQuerySchema.extend({
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
  })
  .openapi("BackupFileSummary");

export const BackupFileSchema = BackupFileSummarySchema.extend({
  backupRunId: z.string(),
  databaseId: z.string(),
  destinationId: z.string(),
}).openapi("BackupFile");

export const BackupFileIdParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
