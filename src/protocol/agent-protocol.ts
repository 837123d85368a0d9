/**
 * The agent socket protocol, version 1 (docs/agent-protocol.md): every frame in both directions as
 * a zod schema. The one definition of the protocol: the platform (Worker and AgentSession) and the agent
 * program (Node 22) both import this module, so it depends on nothing but zod and src/domain (imported
 * with `.ts` extensions, which Node's type stripping needs).
 */
import { z } from "zod";
import { BACKUP_MODES, RUN_TRIGGERS } from "../domain/backup.ts";
import { CREDENTIAL_FIELDS, type CredentialType, DESTINATION_SETTINGS_FIELDS, DESTINATION_TYPES, type DestinationType } from "../domain/destination.ts";
import { LOG_SEVERITIES } from "../domain/log.ts";
import { TARGET_DATABASE_NAME_PATTERN } from "../domain/restore.ts";

export const PROTOCOL_VERSION = 1;
/** Frames larger than this are refused with an `error` frame. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Bad frames tolerated per rolling minute; the next one closes the socket with 1008. */
export const MAX_BAD_FRAMES_PER_MINUTE = 10;
/**
 * What one agent may write into the shared database (docs/agent-protocol.md, "Budgets"). Frames and
 * log rows are token buckets (a burst, then a steady refill); a frame over budget is answered with an
 * `error` whose text starts with `OVER_BUDGET_ERROR` (the agent keeps it and sends it again later);
 * `closeAfterRefusalsPerMinute` refusals within a minute close the socket with 1008.
 */
export const AGENT_BUDGET = {
  frameBurst: 240,
  framesPerSecond: 10,
  logRowBurst: 120,
  logRowsPerMinute: 120,
  closeAfterRefusalsPerMinute: 120,
  enginesPerAgent: 50,
  databasesPerEngine: 2_000,
  databasesPerAgent: 5_000,
} as const;
export const OVER_BUDGET_ERROR = "Over budget:";

/** Nothing received (pings included) for this long and the platform considers the agent gone. */
export const SILENCE_TIMEOUT_MS = 90_000;
/** The agent pings this often; the platform answers without waking its Durable Object. */
export const PING_INTERVAL_MS = 30_000;

/** Exact texts of the ping the platform auto-answers: an agent must send exactly this string. */
export const PING_FRAME = '{"type":"ping"}';
export const PONG_FRAME = '{"type":"pong"}';

/** Close codes of the agent socket. */
export const CLOSE_CODES = {
  /** A newer connection of the same agent replaced this one. */
  replaced: 4000,
  /** The agent was deleted; its token no longer works. */
  revoked: 4001,
  /** Nothing arrived for `SILENCE_TIMEOUT_MS`. */
  silent: 4002,
  /** Too many bad frames. */
  policyViolation: 1008,
} as const;

const messageId = z.uuid();
const utcTimestamp = z.iso.datetime({ offset: true });
const shortText = (max = 255) => z.string().min(1).max(max);

export const BackupModeSchema = z.enum(BACKUP_MODES);
export const RunTriggerSchema = z.enum(RUN_TRIGGERS);
export const LogSeveritySchema = z.enum(LOG_SEVERITIES);

// ---------------------------------------------------------------------------------------------------
// Commands (server → agent, inside a `command` frame)

/** Lenient objects: a settings field a later platform adds is ignored, not refused. */
export const DestinationSettingsSchemas = {
  LocalStorage: z.object(DESTINATION_SETTINGS_FIELDS.LocalStorage),
  S3Storage: z.object(DESTINATION_SETTINGS_FIELDS.S3Storage),
  AzureBlobStorage: z.object(DESTINATION_SETTINGS_FIELDS.AzureBlobStorage),
  SftpStorage: z.object(DESTINATION_SETTINGS_FIELDS.SftpStorage),
  GoogleCloudStorage: z.object(DESTINATION_SETTINGS_FIELDS.GoogleCloudStorage),
} as const satisfies Record<DestinationType, z.ZodType>;

/** The destination types (`LocalStorage`, `S3Storage`, …), from src/domain. */
export const DestinationTypeSchema = z.enum(DESTINATION_TYPES);
export type { DestinationType };

const destinationOf = <T extends keyof typeof DestinationSettingsSchemas>(type: T) =>
  z.object({
    destinationId: z.uuid(),
    name: shortText(200),
    type: z.literal(type),
    settings: DestinationSettingsSchemas[type],
    credentialReferenceId: z.uuid().nullable(),
  });

/** What an agent that does not list `destinationTypes` in its `hello` (protocol 1.0) can write. */
export const PROTOCOL_1_0_DESTINATION_TYPES: readonly DestinationType[] = ["LocalStorage", "S3Storage", "SftpStorage"];

export const JobDestinationSchema = z.discriminatedUnion("type", [
  destinationOf("LocalStorage"),
  destinationOf("S3Storage"),
  destinationOf("AzureBlobStorage"),
  destinationOf("SftpStorage"),
  destinationOf("GoogleCloudStorage"),
]);

/** The whole job as an agent needs it to run it on its own schedule. */
export const AgentJobSchema = z.object({
  backupJobId: z.uuid(),
  name: shortText(200),
  isEnabled: z.boolean(),
  schedules: z.array(z.object({ backupMode: BackupModeSchema, cronExpression: shortText(120) })),
  retentionDays: z.number().int().min(1).max(3650),
  databases: z.array(z.object({ databaseId: z.uuid(), name: shortText(), dbmsType: shortText(64), engineKey: shortText() })),
  destinations: z.array(JobDestinationSchema),
  encryption: z.object({
    enabled: z.boolean(),
    algorithm: z.literal("AES-256").nullable(),
    /** Present only when `enabled`: the agent derives the file key from it. */
    passphrase: z.string().min(12).nullable(),
  }),
});

const credentialOf = <T extends CredentialType>(type: T) => z.object({ $type: z.literal(type), ...CREDENTIAL_FIELDS[type] });

export const CredentialSchema = z.discriminatedUnion("$type", [
  credentialOf("BasicCredential"),
  credentialOf("S3Credential"),
  credentialOf("AzureBlobCredential"),
  credentialOf("SftpCredential"),
  credentialOf("GoogleCloudCredential"),
  credentialOf("ConnectionStringCredential"),
]);

const checksumSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, "must be sha256:<64 lower-case hex digits>");

/** 1.1: one file to fetch and apply in a restore or a drill, with the destination it lives in. */
export const RestoreFileSchema = z.object({
  destination: JobDestinationSchema,
  fileName: shortText(1024),
  checksum: checksumSchema,
  backupMode: BackupModeSchema.optional(),
});

/** 1.1: what a restore and a drill share: the files in apply order, the engine, the job's passphrase. */
const restoreSourceFields = {
  files: z.array(RestoreFileSchema).min(1).max(1000),
  engineKey: shortText(),
  /** The passphrase of the job that made the files; null when they are not encrypted. */
  encryption: z.object({ passphrase: z.string().min(12).nullable() }),
};

export const RestoreRunSchema = z.object({
  type: z.literal("restore.run"),
  restoreId: z.uuid(),
  ...restoreSourceFields,
  target: z.object({ databaseName: z.string().regex(TARGET_DATABASE_NAME_PATTERN), overwrite: z.boolean() }),
});

export const VerifyRunSchema = z.object({
  type: z.literal("verify.run"),
  verificationId: z.uuid(),
  ...restoreSourceFields,
  /** The counts the agent recorded when it made the file (null when it did not): the drill compares them. */
  expected: z.object({ tables: z.number().int().nonnegative(), rows: z.number().int().nonnegative() }).nullable().optional(),
});

export const AgentCommandSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("job.upsert"), job: AgentJobSchema }),
  z.object({ type: z.literal("job.delete"), backupJobId: z.uuid() }),
  z.object({ type: z.literal("backup.run"), backupRunId: z.uuid(), backupJobId: z.uuid(), backupMode: BackupModeSchema }),
  z.object({ type: z.literal("credential.upsert"), credentialReferenceId: z.uuid(), name: shortText(200), credential: CredentialSchema }),
  z.object({ type: z.literal("credential.delete"), credentialReferenceId: z.uuid() }),
  z.object({ type: z.literal("inventory.request") }),
  z.object({ type: z.literal("agent.revoked") }),
  RestoreRunSchema,
  VerifyRunSchema,
]);

// ---------------------------------------------------------------------------------------------------
// Server → agent frames

export const ServerFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("welcome"), agentId: z.uuid(), protocolVersion: z.literal(PROTOCOL_VERSION), serverTime: utcTimestamp }),
  z.object({ type: z.literal("command"), id: messageId, seq: z.number().int().positive(), command: AgentCommandSchema }),
  z.object({ type: z.literal("ack"), id: messageId }),
  z.object({ type: z.literal("pong") }),
  z.object({ type: z.literal("error"), id: z.string().nullable(), error: z.string() }),
]);

// ---------------------------------------------------------------------------------------------------
// Agent → server frames

/** Protocol 1.1: what an engine can do. An engine that reports none (protocol 1.0) is Full-only without restore. */
export const EngineCapabilitiesSchema = z.object({
  backupModes: z.array(BackupModeSchema).min(1),
  restore: z.boolean(),
});
export const FULL_ONLY_CAPABILITIES: EngineCapabilities = { backupModes: ["Full"], restore: false };

export const InventoryEngineSchema = z.object({
  engineKey: shortText(),
  dbmsType: shortText(64),
  version: z.string().max(128).nullable().optional(),
  databases: z.array(z.object({ name: shortText() })).max(10_000),
  capabilities: EngineCapabilitiesSchema.optional(),
  /** 1.1, optional: why an engine the agent found or was given cannot be used (it lists no databases then). */
  error: z.string().max(1000).nullable().optional(),
});

export const BackupStartedSchema = z.object({
  type: z.literal("backup.started"),
  id: messageId,
  backupRunId: z.uuid(),
  backupJobId: z.uuid(),
  backupMode: BackupModeSchema,
  trigger: RunTriggerSchema,
  startedUtc: utcTimestamp,
});
export const BackupProgressSchema = z.object({
  type: z.literal("backup.progress"),
  id: messageId,
  backupRunId: z.uuid(),
  bytesDone: z.number().int().nonnegative(),
});
export const BackupCompletedSchema = z.object({
  type: z.literal("backup.completed"),
  id: messageId,
  backupRunId: z.uuid(),
  finishedUtc: utcTimestamp,
  files: z.array(
    z.object({
      databaseId: z.uuid(),
      destinationId: z.uuid(),
      fileName: shortText(1024),
      fileSize: z.number().int().nonnegative(),
      checksum: checksumSchema,
      /** 1.1, optional: the tables and rows of the database when it was backed up (a drill compares them). */
      tables: z.number().int().nonnegative().nullable().optional(),
      rows: z.number().int().nonnegative().nullable().optional(),
      /** Protocol 1.1; absent from 1.0 agents, whose files are the run's mode. */
      backupMode: BackupModeSchema.optional(),
      /** Protocol 1.1, Differential and TransactionLog only: the file (same destination) this one builds on. */
      baseFileName: shortText(1024).nullable().optional(),
    }),
  ),
});
export const BackupFailedSchema = z.object({
  type: z.literal("backup.failed"),
  id: messageId,
  backupRunId: z.uuid(),
  finishedUtc: utcTimestamp,
  error: shortText(10_000),
});

/** 1.1: files the agent removed from a destination (by retention); the platform marks them `Deleted`. */
export const FilesDeletedSchema = z.object({
  type: z.literal("files.deleted"),
  id: messageId,
  files: z.array(z.object({ destinationId: z.uuid(), fileName: shortText(1024) })).min(1).max(1000),
  reason: z.literal("retention"),
});

/** 1.1: the four reports of a restore (by `restoreId`) and of a drill (by `verificationId`). */
function restoreReports<P extends "restore" | "verify", K extends string>(prefix: P, key: K) {
  const id = { [key]: z.uuid() } as Record<K, z.ZodUUID>;
  return [
    z.object({ type: z.literal(`${prefix}.started` as const), id: messageId, ...id, startedUtc: utcTimestamp }),
    z.object({ type: z.literal(`${prefix}.progress` as const), id: messageId, ...id, bytesDone: z.number().int().nonnegative() }),
    z.object({
      type: z.literal(`${prefix}.completed` as const),
      id: messageId,
      ...id,
      finishedUtc: utcTimestamp,
      tables: z.number().int().nonnegative(),
      rows: z.number().int().nonnegative(),
    }),
    z.object({ type: z.literal(`${prefix}.failed` as const), id: messageId, ...id, finishedUtc: utcTimestamp, error: shortText(10_000) }),
  ] as const;
}
export const RestoreReportSchemas = restoreReports("restore", "restoreId");
export const VerifyReportSchemas = restoreReports("verify", "verificationId");

export const AgentFrameSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("hello"),
    id: messageId,
    hostname: shortText(),
    displayName: z.string().max(200).nullable().optional(),
    operatingSystem: shortText(),
    version: shortText(64),
    /** 1.1: the destination types this agent can write. Absent = a 1.0 agent: LocalStorage, S3Storage and SftpStorage only. */
    destinationTypes: z.array(DestinationTypeSchema).max(100).optional(),
  }),
  z.object({ type: z.literal("inventory"), id: messageId, engines: z.array(InventoryEngineSchema).max(1000) }),
  BackupStartedSchema,
  BackupProgressSchema,
  BackupCompletedSchema,
  BackupFailedSchema,
  FilesDeletedSchema,
  ...RestoreReportSchemas,
  ...VerifyReportSchemas,
  z.object({
    type: z.literal("log"),
    id: messageId,
    severity: LogSeveritySchema,
    message: shortText(10_000),
    timestamp: utcTimestamp,
    backupJobId: z.uuid().nullable().optional(),
  }),
  z.object({ type: z.literal("ack"), id: messageId }),
  z.object({ type: z.literal("ping") }),
]);

export type AgentCommand = z.infer<typeof AgentCommandSchema>;
export type AgentJob = z.infer<typeof AgentJobSchema>;
export type ServerFrame = z.infer<typeof ServerFrameSchema>;
export type AgentFrame = z.infer<typeof AgentFrameSchema>;
export type BackupReport = z.infer<typeof BackupStartedSchema | typeof BackupProgressSchema | typeof BackupCompletedSchema | typeof BackupFailedSchema>;
export type RestoreReport = z.infer<(typeof RestoreReportSchemas)[number]>;
export type VerifyReport = z.infer<(typeof VerifyReportSchemas)[number]>;
export type RestoreRunCommand = z.infer<typeof RestoreRunSchema>;
export type VerifyRunCommand = z.infer<typeof VerifyRunSchema>;
export type InventoryEngine = z.infer<typeof InventoryEngineSchema>;
export type EngineCapabilities = z.infer<typeof EngineCapabilitiesSchema>;

const AGENT_FRAME_TYPES = new Set(AgentFrameSchema.options.map((o) => o.shape.type.value));
const SERVER_FRAME_TYPES = new Set(ServerFrameSchema.options.map((o) => o.shape.type.value));

export type ParseResult<T> = { ok: true; frame: T } | { ok: false; id: string | null; error: string };

function byteLength(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}

function parseFrame<T>(schema: z.ZodType<T>, knownTypes: Set<string>, data: string | ArrayBuffer): ParseResult<T> {
  if (typeof data !== "string") return { ok: false, id: null, error: "Frames must be JSON text." };
  if (data.length > MAX_FRAME_BYTES || byteLength(data) > MAX_FRAME_BYTES) {
    return { ok: false, id: null, error: "Frame larger than 1 MiB." };
  }
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { ok: false, id: null, error: "Frame is not valid JSON." };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { ok: false, id: null, error: "Frame must be a JSON object with a type." };
  }
  const { type, id: rawId } = json as { type?: unknown; id?: unknown };
  const id = typeof rawId === "string" ? rawId : null;
  if (typeof type !== "string") return { ok: false, id, error: "Frame has no type." };
  if (!knownTypes.has(type)) return { ok: false, id, error: `Unknown frame type "${type.slice(0, 64)}".` };
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue.path.map(String).join(".");
    return { ok: false, id, error: `Invalid ${type} frame: ${path ? `${path}: ` : ""}${issue.message}` };
  }
  return { ok: true, frame: result.data };
}

/** Parses one frame an agent sent; a refusal carries the frame's id (if readable) and a reason. */
export function parseAgentFrame(data: string | ArrayBuffer): ParseResult<AgentFrame> {
  return parseFrame(AgentFrameSchema, AGENT_FRAME_TYPES, data);
}

/** Parses one frame the platform sent (for the agent program). */
export function parseServerFrame(data: string | ArrayBuffer): ParseResult<ServerFrame> {
  return parseFrame(ServerFrameSchema, SERVER_FRAME_TYPES, data);
}
