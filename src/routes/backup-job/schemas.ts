import { z } from "@hono/zod-openapi";
import { Cron } from "croner";
import { BACKUP_MODES, RUN_STATUSES, RUN_TRIGGERS } from "../../db/schema";

/** Why a cron expression is not a usable 5-field cron, or null when it is. */
function cronProblem(expression: string): string | null {
  if (expression.trim().split(/\s+/).length !== 5) return "cronExpression must have exactly 5 fields (minute hour day month weekday).";
  try {
    const cron = new Cron(expression, { mode: "5-part", paused: true });
    const next = cron.nextRun();
    cron.stop();
    return next ? null : "cronExpression never matches a date.";
  } catch (err) {
    return `cronExpression is invalid: ${(err as Error).message.replace(/^CronPattern: /, "")}`;
  }
}

const BackupModeSchema = z.enum(BACKUP_MODES, { error: `backupMode must be one of ${BACKUP_MODES.join(", ")}.` });

const cronExpression = z
  .string()
  .max(120)
  .superRefine((value, ctx) => {
    const problem = cronProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .openapi({ example: "0 2 * * *" });

const ScheduleSchema = z.object({ backupMode: BackupModeSchema, cronExpression }).openapi("Schedule");

/** Scheduled verification drills (issue 15): the platform queues `verify.run` at each time of the cron, in UTC. */
const VerificationScheduleSchema = z
  .object({ enabled: z.boolean(), cronExpression: cronExpression.openapi({ example: "0 4 * * 0" }) })
  .openapi("VerificationSchedule");

const ids = (field: string, max: number) =>
  z
    .array(z.string().min(1), { error: `${field} must be an array of ids.` })
    .min(1, `${field} must contain at least one id.`)
    .max(max, `${field} may contain at most ${max} ids.`);

const name = z.string().trim().min(1, "name is required.").max(200, "name must be at most 200 characters.");
const retentionDays = z
  .number({ error: "retentionDays must be a number." })
  .int("retentionDays must be a whole number.")
  .min(1, "retentionDays must be between 1 and 3650.")
  .max(3650, "retentionDays must be between 1 and 3650.");
const passphrase = z
  .string()
  .min(12, "encryption.passphrase must be at least 12 characters.")
  .max(1024, "encryption.passphrase must be at most 1024 characters.");

export const CreateBackupJobSchema = z
  .object({
    name,
    agentId: z.string().min(1, "agentId is required."),
    databaseIds: ids("databaseIds", 50),
    destinationIds: ids("destinationIds", 20),
    schedules: z.array(ScheduleSchema).max(20, "At most 20 schedules.").default([]),
    retentionDays: retentionDays.default(30),
    encryption: z
      .object({ enabled: z.boolean(), passphrase: passphrase.optional() })
      .refine((e) => !e.enabled || e.passphrase !== undefined, {
        message: "encryption.passphrase of at least 12 characters is required when encryption is enabled.",
        path: ["passphrase"],
      })
      .default({ enabled: false }),
    isEnabled: z.boolean().default(true),
    verification: VerificationScheduleSchema.nullable().default(null),
  })
  .openapi("CreateBackupJob");

/** Partial: only the fields sent change. An enabled encryption without a passphrase keeps the stored one. */
export const UpdateBackupJobSchema = z
  .object({
    name: name.optional(),
    agentId: z.string().min(1, "agentId must not be empty.").optional(),
    databaseIds: ids("databaseIds", 50).optional(),
    destinationIds: ids("destinationIds", 20).optional(),
    schedules: z.array(ScheduleSchema).max(20, "At most 20 schedules.").optional(),
    retentionDays: retentionDays.optional(),
    encryption: z.object({ enabled: z.boolean(), passphrase: passphrase.optional() }).optional(),
    isEnabled: z.boolean().optional(),
    verification: VerificationScheduleSchema.nullable().optional(),
  })
  .openapi("UpdateBackupJob");

export const RunBackupJobSchema = z.object({ backupMode: BackupModeSchema.optional() }).openapi("RunBackupJob");

export const BackupJobCreatedSchema = z
  .object({ backupJobId: z.string(), name: z.string(), isEnabled: z.boolean() })
  .openapi("BackupJobCreated");

const lastRun = {
  lastStatus: z.enum(RUN_STATUSES).nullable(),
  lastRunUtc: z.string().nullable(),
};

export const BackupJobSummarySchema = z
  .object({
    backupJobId: z.string(),
    name: z.string(),
    isEnabled: z.boolean(),
    agentId: z.string().nullable(),
    schedules: z.array(ScheduleSchema),
    ...lastRun,
  })
  .openapi("BackupJobSummary");

export const BackupJobSchema = z
  .object({
    backupJobId: z.string(),
    name: z.string(),
    isEnabled: z.boolean(),
    agentId: z.string().nullable(),
    databases: z.array(z.object({ databaseId: z.string(), name: z.string(), dbmsType: z.string() })),
    destinations: z.array(z.object({ destinationId: z.string(), name: z.string(), type: z.string() })),
    schedules: z.array(ScheduleSchema),
    retentionDays: z.number().int(),
    encryption: z.object({ enabled: z.boolean(), algorithm: z.literal("AES-256").nullable() }),
    verification: VerificationScheduleSchema.nullable(),
  })
  .openapi("BackupJob");

export const BackupRunSchema = z
  .object({
    backupRunId: z.string(),
    backupMode: z.enum(BACKUP_MODES),
    trigger: z.enum(RUN_TRIGGERS),
    status: z.enum(RUN_STATUSES),
    startedUtc: z.string().nullable(),
    finishedUtc: z.string().nullable(),
    durationMs: z.number().int().nullable(),
    totalSize: z.number().int().nullable(),
    bytesDone: z.number().int().nullable().openapi({ description: "While the run is running: bytes written so far, as the agent last reported; the total size once it succeeded." }),
    error: z.string().nullable(),
  })
  .openapi("BackupRun");

export const BackupTriggeredSchema = z.object({ message: z.string(), backupRunId: z.string() }).openapi("BackupTriggered");

export const BackupJobIdParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
