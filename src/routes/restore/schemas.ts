import { z } from "@hono/zod-openapi";
import { RESTORE_STATUSES, TARGET_DATABASE_NAME_PATTERN } from "../../domain/restore";

export const IdParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });

export const CreateRestoreSchema = z
  .object({
    targetDatabaseName: z
      .string({ error: "targetDatabaseName is required." })
      .regex(TARGET_DATABASE_NAME_PATTERN, "targetDatabaseName must be 1-63 letters, digits or underscores, not starting with a digit.")
      .openapi({ example: "sales_restored" }),
    agentId: z.string().min(1).optional().openapi({ description: "The agent to restore on (default: the agent that made the file)" }),
    overwrite: z.boolean().default(false).openapi({ description: "Replace an existing database of that name (default false: refused)" }),
  })
  .openapi("CreateRestore");

export const RestoreQueuedSchema = z.object({ restoreId: z.string(), message: z.string() }).openapi("RestoreQueued");
export const VerificationQueuedSchema = z.object({ verificationId: z.string(), message: z.string() }).openapi("VerificationQueued");

const status = z.enum(RESTORE_STATUSES);

export const RestoreSchema = z
  .object({
    restoreId: z.string(),
    backupFileId: z.string(),
    agentId: z.string(),
    targetDatabaseName: z.string(),
    status,
    bytesDone: z.number().int(),
    tables: z.number().int().nullable().openapi({ description: "Tables the agent counted after restoring" }),
    rows: z.number().int().nullable().openapi({ description: "Rows the agent counted after restoring" }),
    startedUtc: z.string().nullable(),
    finishedUtc: z.string().nullable(),
    error: z.string().nullable(),
  })
  .openapi("Restore");

export const VerificationSchema = z
  .object({
    verificationId: z.string(),
    backupFileId: z.string(),
    status,
    tables: z.number().int().nullable(),
    rows: z.number().int().nullable(),
    durationMs: z.number().int().nullable(),
    startedUtc: z.string().nullable(),
    finishedUtc: z.string().nullable(),
    error: z.string().nullable(),
  })
  .openapi("Verification");
